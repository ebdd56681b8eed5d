import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { kidOf } from './signing-kids.js';

describe('kidOf', () => {
  it('is base64url(sha256(SubjectPublicKeyInfo)) of the stored public key, as Keycloak computes it', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    expect(kidOf({ ecdsaPublicKey: spki.toString('base64') })).toBe(createHash('sha256').update(spki).digest('base64url'));
  });

  it('prefers an explicit kid and gives up on garbage', () => {
    expect(kidOf({ kid: 'given', certificate: 'x' })).toBe('given');
    expect(kidOf({ certificate: 'not a certificate' })).toBeUndefined();
    expect(kidOf({})).toBeUndefined();
  });
});
