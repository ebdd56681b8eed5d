/** The hub's task target, from the operator's `--target` word. */
export type Target = { hostId: string } | { selector: string } | { all: true };

/** `all`, a host id (`h_…`), or a label selector `k=v[,k=v…]`. */
export function parseTarget(word: string): Target {
  const trimmed = word.trim();
  if (trimmed === 'all') return { all: true };
  if (trimmed.includes('=')) {
    for (const pair of trimmed.split(',')) {
      const [k, v, ...rest] = pair.split('=');
      if (!k || v === undefined || v === '' || rest.length) throw new Error(`bad label selector "${word}": expected key=value[,key=value...]`);
    }
    return { selector: trimmed };
  }
  if (/^[a-z0-9][a-z0-9_-]{2,63}$/.test(trimmed)) return { hostId: trimmed };
  throw new Error(`bad target "${word}": use a host id, key=value labels, or "all"`);
}

/**
 * `--param key=value` pairs into an object. A value that parses as JSON is taken as
 * JSON (so `delayMs=500` is a number and `x=true` a boolean); anything else is a string.
 */
export function parseParams(pairs: string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`bad --param "${pair}": expected key=value`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: keep the plain string
    }
    params[pair.slice(0, eq)] = value;
  }
  return params;
}
