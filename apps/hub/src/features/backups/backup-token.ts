import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { ApiError } from '../../api/api-error.js';
import type { AppEnv } from '../../api/app-env.js';

/**
 * A single-use bearer secret for one upload or download of one backup object (`kfb_`), and the
 * hash the catalog keeps in its place. Full entropy, so a fast hash is enough.
 */
export function newBackupToken(): { token: string; hash: string } {
  const token = `kfb_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashBackupToken(token) };
}

export function hashBackupToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export const newBackupId = () => `bk_${randomBytes(10).toString('hex')}`;

/** The hub secret that carries an upload token to one agent, filled in on the wire only. */
export const uploadSecretName = (backupId: string) => `backup-upload.${backupId}`;
export const downloadSecretName = (backupId: string, nonce: string) => `backup-download.${backupId}.${nonce}`;

/** The `kfb_` token a single-use upload or download request carries; 401 without one. */
export function backupBearerToken(c: Context<AppEnv>): string {
  const token = c.req.header('authorization')?.match(/^Bearer\s+(kfb_\S+)$/)?.[1];
  if (!token) throw new ApiError(401, 'missing backup token: send "Authorization: Bearer kfb_..."');
  return token;
}
