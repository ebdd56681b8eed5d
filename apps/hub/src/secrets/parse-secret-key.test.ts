import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSecretKey } from './parse-secret-key.js';

describe('parseSecretKey', () => {
  const key = randomBytes(32);

  it('reads 64 hex digits, base64 and url-safe base64, ignoring surrounding whitespace', () => {
    expect(parseSecretKey(key.toString('hex'), 'X').equals(key)).toBe(true);
    expect(parseSecretKey(`${key.toString('base64')}\n`, 'X').equals(key)).toBe(true);
    expect(parseSecretKey(key.toString('base64url'), 'X').equals(key)).toBe(true);
  });

  it('refuses other lengths and text without echoing it', () => {
    for (const bad of [randomBytes(16).toString('base64'), 'not a key!', '', key.toString('hex').slice(2)]) {
      let message = '';
      try {
        parseSecretKey(bad, 'KEYFLEET_SECRET_KEY');
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^KEYFLEET_SECRET_KEY must be 32 random bytes/);
      if (bad) expect(message).not.toContain(bad);
    }
  });
});
