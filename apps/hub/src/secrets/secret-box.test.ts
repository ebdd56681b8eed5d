import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from './secret-box.js';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips a value without it appearing in the sealed bytes, with a fresh nonce each time', () => {
    const a = box.seal('db-password', 'hunter2-hunter2');
    const b = box.seal('db-password', 'hunter2-hunter2');
    expect(a.includes(Buffer.from('hunter2'))).toBe(false);
    expect(a.equals(b)).toBe(false);
    expect(box.open('db-password', a)).toBe('hunter2-hunter2');
    expect(box.open('db-password', box.seal('db-password', 'ünïcødé ✓'))).toBe('ünïcødé ✓');
  });

  it('refuses a value moved to another name, altered, or sealed under another key', () => {
    const sealed = box.seal('a', 'value');
    expect(() => box.open('b', sealed)).toThrow('secret "b" does not decrypt with this hub\'s key');
    const altered = Buffer.from(sealed);
    altered[altered.length - 20]! ^= 1;
    expect(() => box.open('a', altered)).toThrow(/does not decrypt/);
    expect(() => new SecretBox(randomBytes(32)).open('a', sealed)).toThrow(/does not decrypt/);
    expect(() => box.open('a', Buffer.from([9, 1, 2]))).toThrow('secret "a" is not in a format this hub reads');
  });

  it('names its key by a stable id that is not the key, and wants 32 bytes', () => {
    const key = randomBytes(32);
    expect(new SecretBox(key).keyId).toBe(new SecretBox(Buffer.from(key)).keyId);
    expect(new SecretBox(key).keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(key.toString('hex')).not.toContain(new SecretBox(key).keyId);
    expect(new SecretBox(key).keyId).not.toBe(box.keyId);
    expect(() => new SecretBox(randomBytes(16))).toThrow('the hub secret key must be 32 bytes, got 16');
  });
});
