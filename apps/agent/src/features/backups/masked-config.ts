/** The config as Keyfleet applied it, every secret reduced to its reference: `{ $secret: name }`. */
export function maskedConfig(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskedConfig);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.some(([k]) => k === '$secret')) return { $secret: (value as { $secret: unknown }).$secret };
    return Object.fromEntries(entries.map(([k, v]) => [k, maskedConfig(v)]));
  }
  return value;
}
