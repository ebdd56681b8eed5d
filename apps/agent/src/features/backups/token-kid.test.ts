import { describe, expect, it } from 'vitest';
import { tokenKid } from './token-kid.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('tokenKid', () => {
  it('reads the kid from the header', () => {
    expect(tokenKid(`${b64({ alg: 'RS256', kid: 'abc-123' })}.${b64({ sub: 'x' })}.sig`)).toBe('abc-123');
  });
  it('has none for a header without one, or for what is not a JWT', () => {
    expect(tokenKid(`${b64({ alg: 'RS256' })}.e30.sig`)).toBeUndefined();
    expect(tokenKid('not a token')).toBeUndefined();
    expect(tokenKid('')).toBeUndefined();
  });
});
