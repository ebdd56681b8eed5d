export interface FoundSecretRef {
  /** Where in the value, e.g. `spec.clients.0.secret`. */
  path: string;
  name: string;
  /** The object also carries a `value` key (never allowed from operators). */
  hasValue: boolean;
}

/** Whether `v` is a `{ $secret: name, ... }` reference (see proto `secretRef`). */
export function isSecretRef(v: unknown): v is { $secret: string; value?: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { $secret?: unknown }).$secret === 'string';
}

/** Every secret reference anywhere in a JSON value, in document order. */
export function collectSecretRefs(value: unknown): FoundSecretRef[] {
  const found: FoundSecretRef[] = [];
  const walk = (v: unknown, path: string[]): void => {
    if (isSecretRef(v)) {
      found.push({ path: path.join('.'), name: v.$secret, hasValue: Object.hasOwn(v, 'value') });
    } else if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) walk(item, [...path, String(i)]);
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) walk(item, [...path, k]);
    }
  };
  walk(value, []);
  return found;
}
