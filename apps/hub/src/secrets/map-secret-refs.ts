import { isSecretRef } from './collect-secret-refs.js';

/**
 * A copy of a JSON value with every `{ $secret }` reference replaced by what `f`
 * makes of it: the dispatcher fills in values for the wire, stores strip them.
 */
export function mapSecretRefs(value: unknown, f: (ref: { $secret: string; value?: unknown }) => unknown): unknown {
  if (isSecretRef(value)) return f(value);
  if (Array.isArray(value)) return value.map((item) => mapSecretRefs(item, f));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapSecretRefs(v, f)]));
  }
  return value;
}
