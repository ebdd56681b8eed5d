import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createTaskBatch } from '../../api/tasks/create-task-batch.js';
import type { Database } from '../../store/database.js';
import { downloadSecretName, newBackupToken } from './backup-token.js';
import { backupsDb } from './backups-tables.js';
import { fileKeySecretName, identityForCall } from './identity-for-call.js';
import type { BackupStorage } from './storage/backup-storage.js';

export interface DrillRequest {
  /** The drill host: it receives the identity for this drill only. */
  hostId: string;
  /** Name of the hub secret holding the age identity (AGE-SECRET-KEY-1…); or: */
  identitySecret?: string;
  /**
   * An age identity for this drill only: the hub opens the backup's header with it and the drill
   * host gets the file key, which opens this backup and no other (the identity is never stored).
   */
  identity?: string;
  scratchUrl: string;
  scratchPasswordSecret?: string;
  /** `skip`: prove the database only, on a drill host without the backup's Keycloak version. */
  keycloak?: 'boot' | 'skip';
}

/**
 * A backup.drill task for one stored backup, with a single-use download token (the caller
 * kicks the dispatcher). 404 for an unknown backup or identity secret, 409 for one that is not
 * stored, 400 for a per-call identity that does not open it (`storage` reads its header).
 */
export async function startDrill(
  coreDb: Kysely<Database>,
  secrets: ApiDeps['secrets'],
  backupId: string,
  req: DrillRequest,
  actor: string,
  storage?: () => Promise<BackupStorage>,
): Promise<{ taskId: string; hostId: string }> {
  const db = backupsDb(coreDb);
  const row = await db.selectFrom('backups').select(['state', 'sha256']).where('id', '=', backupId).executeTakeFirst();
  if (!row) throw new ApiError(404, `backup ${backupId} not found`);
  if ((row.state !== 'stored' && row.state !== 'verified') || !row.sha256)
    throw new ApiError(409, `backup ${backupId} is ${row.state}: only stored backups can be drilled`);
  const { token, hash } = newBackupToken();
  const secretName = downloadSecretName(backupId, randomBytes(6).toString('hex'));
  const noStorage = async (): Promise<BackupStorage> => {
    throw new ApiError(400, 'an identity for one call is taken by POST /v1/backups/{id}/drill only');
  };
  const identitySecret = await identityForCall(coreDb, secrets, storage ?? noStorage, backupId, req, secretName, actor);
  await db
    .insertInto('backup_downloads')
    .values({ token_hash: hash, backup_id: backupId, expires_at: new Date(Date.now() + 4 * 3600_000) })
    .execute();
  await secrets.put(secretName, token, actor);
  const { tasks } = await createTaskBatch(coreDb, {
    type: 'backup.drill',
    target: { hostId: req.hostId },
    params: {
      backupId,
      download: { url: `/v1/backup-downloads/${backupId}`, token: { $secret: secretName } },
      identity: { $secret: identitySecret },
      scratch: { url: req.scratchUrl, ...(req.scratchPasswordSecret ? { password: { $secret: req.scratchPasswordSecret } } : {}) },
      sha256: row.sha256,
      ...(req.keycloak ? { keycloak: req.keycloak } : {}),
    },
    expiresInMs: 3600_000,
    createdBy: actor,
  }).catch(async (err: unknown) => {
    await db.deleteFrom('backup_downloads').where('token_hash', '=', hash).execute();
    await secrets.delete(secretName);
    await secrets.delete(fileKeySecretName(secretName));
    throw err;
  });
  return { taskId: tasks[0]!.id, hostId: req.hostId };
}
