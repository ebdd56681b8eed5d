const NO_NUL = '^[^\\u0000]*$';

/**
 * The generated OpenAPI document, completed with rules the hub enforces for every route but
 * the generator cannot see, so a client that follows the document is never refused:
 * - integers are safe integers (zod 4's `.int()`), where a schema states no bound itself;
 * - strings and object keys hold no NUL (Postgres refuses it; the routers' hook answers 400),
 *   where a string has no pattern of its own (those exclude NUL already);
 * - a secret reference `{ $secret }` takes no `value` from operators (the hub fills it in
 *   only on the wire to the agent, and refuses one sent to it).
 * The error body is left alone: it is the hub's own text. Walks in place and returns it.
 */
export function completeDocument<T>(document: T): T {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const schema = node as Record<string, unknown>;
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (types.includes('integer')) {
      schema.minimum ??= Number.MIN_SAFE_INTEGER;
      schema.maximum ??= Number.MAX_SAFE_INTEGER;
    }
    if (types.includes('string') && schema.pattern === undefined && schema.enum === undefined && schema.const === undefined && schema.format === undefined) {
      schema.pattern = NO_NUL;
    }
    if (types.includes('object') && schema.additionalProperties !== false && schema.propertyNames === undefined) {
      schema.propertyNames = { pattern: NO_NUL };
    }
    const properties = schema.properties as Record<string, unknown> | undefined;
    if (properties?.$secret !== undefined && properties.value !== undefined) {
      delete properties.value;
      if (Array.isArray(schema.required)) schema.required = schema.required.filter((name) => name !== 'value');
    }
    for (const [key, value] of Object.entries(schema)) {
      // Keys of `properties` are names, not schemas; their values are visited below all the same.
      if (key === 'example' || key === 'examples' || key === 'default') continue;
      visit(value);
    }
  };
  const components = (document as { components?: { schemas?: Record<string, unknown> } }).components;
  const errorBody = components?.schemas?.Error;
  if (components?.schemas) delete components.schemas.Error;
  visit(document);
  if (components?.schemas && errorBody) components.schemas.Error = errorBody;
  return document;
}
