import { z } from '@hono/zod-openapi';

const KEY = '[ \\t]*[a-zA-Z0-9._/-]{1,63}[ \\t]*';
/** Anything up to the next pair but NUL, which Postgres refuses (spelled as an escape for the document). */
const VALUE = '[^,\\u0000]*';

/**
 * A label selector `k=v,k2=v2` as parseSelector reads it, written as a pattern so the OpenAPI
 * document describes exactly what is accepted. Spaces and tabs only around keys: other
 * whitespace differs between regex dialects and client generators.
 */
export const SelectorSchema = z
  .string()
  .min(1)
  // 1000 characters fit a URL under Node's 16 KiB header limit even percent-encoded.
  .max(1000)
  .regex(new RegExp(`^${KEY}=${VALUE}(,${KEY}=${VALUE})*$`), 'a selector is key=value[,key=value...] (keys: 1-63 of [a-zA-Z0-9._/-])')
  .openapi('Selector', { description: 'labels that must all match, e.g. env=prod,region=eu-1', example: 'env=prod,region=eu-1' });
