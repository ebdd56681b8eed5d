import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

// Keycloak masks some secrets on read (SMTP password, identity provider client secret). A salted,
// slow hash stored beside them tells whether the spec's value is the one last applied, without
// the value itself being readable from the fingerprint.
const KEY_LENGTH = 32;
const PARAMS = { N: 16_384, r: 8, p: 1 };

/** Where the fingerprints live: next to the masked secret, so they go when the item goes. */
export const FINGERPRINT_KEYS = { smtpPassword: 'keyfleet.passwordFingerprint', idpClientSecret: 'keyfleet.clientSecretFingerprint' } as const;

/** `scrypt$<salt>$<hash>` (base64url) of a secret. */
export function fingerprintSecret(value: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64url')}$${scryptSync(value, salt, KEY_LENGTH, PARAMS).toString('base64url')}`;
}

/** True when `fingerprint` was made from `value`; false for a missing or malformed fingerprint. */
export function fingerprintMatches(value: string, fingerprint: string | undefined): boolean {
  const [scheme, salt, hash] = fingerprint?.split('$') ?? [];
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  if (expected.length !== KEY_LENGTH) return false;
  return timingSafeEqual(scryptSync(value, Buffer.from(salt, 'base64url'), KEY_LENGTH, PARAMS), expected);
}
