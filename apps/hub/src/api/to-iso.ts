/** Timestamps leave the API as ISO 8601 strings. */
export function toIso<T extends Date | null>(d: T): T extends Date ? string : string | null {
  return (d === null ? null : d.toISOString()) as T extends Date ? string : string | null;
}
