const MASK = '***';

/**
 * A copy of a JSON value with every occurrence of any of `secrets` masked in its
 * strings (keys included). The last line of defence when an agent echoes a secret
 * it was sent into a result or an error: those are stored and shown to viewers.
 */
export function redactSecrets<T>(value: T, secrets: Iterable<string>): T {
  // Longest first, so a secret containing another is masked whole.
  const list = [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  if (list.length === 0) return value;
  const mask = (s: string): string => list.reduce((acc, secret) => acc.replaceAll(secret, MASK), s);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return mask(v);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, item]) => [mask(k), walk(item)]));
    return v;
  };
  return walk(value) as T;
}
