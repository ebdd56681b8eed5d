import { randomBytes } from 'node:crypto';

/**
 * A row id: prefix, `_`, then 20 lowercase hex chars (80 random bits). Ids travel
 * in NATS subjects, so they stay within the proto's `[a-z0-9_-]` id alphabet.
 */
export function newId(prefix: 'h' | 't' | 'b' | 'tok' | 'enr' | 'rs'): string {
  return `${prefix}_${randomBytes(10).toString('hex')}`;
}
