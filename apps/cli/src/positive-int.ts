/** A flag's value as a positive integer, or an error naming the flag. */
export function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`bad ${flag} "${value}": expected a positive integer`);
  return n;
}
