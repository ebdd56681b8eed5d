import { createHash, randomBytes } from 'node:crypto';

/** `kf_` for API tokens, `kfe_` for enrollment tokens: the prefix tells a leaked secret's kind. */
export type SecretTokenPrefix = 'kf_' | 'kfe_';

/**
 * A 256-bit random bearer secret and the hash stored in its place. A fast hash is
 * enough because the secret has full entropy; it cannot be brute-forced from the hash.
 */
export function generateSecretToken(prefix: SecretTokenPrefix): { token: string; hash: string } {
  const token = prefix + randomBytes(32).toString('base64url');
  return { token, hash: hashSecretToken(token) };
}

export function hashSecretToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
