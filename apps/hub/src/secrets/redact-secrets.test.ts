import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact-secrets.js';

describe('redactSecrets', () => {
  it('masks every occurrence in strings and keys at any depth, longest secret first', () => {
    const value = {
      message: 'login with s3cret-pw failed; s3cret-pw rejected',
      nested: [{ detail: 'token=abc' }, 7, true, null],
      's3cret-pw': 'as a key',
      overlap: 'abc-long',
    };
    expect(redactSecrets(value, ['s3cret-pw', 'abc', 'abc-long', ''])).toEqual({
      message: 'login with *** failed; *** rejected',
      nested: [{ detail: 'token=***' }, 7, true, null],
      '***': 'as a key',
      overlap: '***',
    });
  });

  it('returns the value as it is when there is nothing to mask', () => {
    const value = { a: 'b' };
    expect(redactSecrets(value, [])).toBe(value);
    expect(redactSecrets(null, ['x'])).toBeNull();
    expect(redactSecrets({ code: 'handler_error', message: 'pw is x' }, ['x'])).toEqual({ code: 'handler_error', message: 'pw is ***' });
  });
});
