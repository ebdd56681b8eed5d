/** How many of `total` hosts one batch upgrades: `N` or `N%` (rounded up, at least 1). */
export function waveSize(batch: string, total: number): number {
  const m = batch.trim().match(/^(\d+)(%?)$/);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!m || n <= 0 || (m[2] && n > 100)) throw new Error(`bad --batch "${batch}": a number of hosts or a percentage (1-100%)`);
  return Math.max(1, m[2] ? Math.ceil((total * n) / 100) : n);
}
