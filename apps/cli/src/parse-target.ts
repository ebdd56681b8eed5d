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
