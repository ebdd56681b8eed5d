import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createTaskBatch } from '../../api/tasks/create-task-batch.js';
import type { Database } from '../../store/database.js';
import { downloadSecretName, newBackupToken, uploadSecretName } from './backup-token.js';
import { type BackupRecipient, backupsDb } from './backups-tables.js';
import { exportsDb } from './export-tables.js';
import { fileKeySecretName, identityForCall } from './identity-for-call.js';
import { openBackupExport } from './open-backup-export.js';
import { activeRecipients } from './open-backup-entry.js';
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
  /** Also export the realms from the scratch copy (kc.sh export), encrypted to the fleet's recipients. */
  export?: boolean;
}

/**
 * A backup.drill task for one stored backup, with a single-use download token (the caller
 * kicks the dispatcher). 404 for an unknown backup or identity secret, 409 for one that is not
 * stored, 400 for a per-call identity that does not open it (`storage` reads its header). With
 * `export`, a realm export is opened too, with its own single-use upload target; 409 without
 * recipients (fail closed: an export holds password hashes and client secrets).
 */
export async function startDrill(
  coreDb: Kysely<Database>,
  secrets: ApiDeps['secrets'],
  backupId: string,
  req: DrillRequest,
  actor: string,
  storage?: () => Promise<BackupStorage>,
): Promise<{ taskId: string; hostId: string }> {
  if (req.export && req.keycloak === 'skip') throw new ApiError(400, 'a realm export is made by the scratch Keycloak: export cannot go with keycloak: skip');
  const db = backupsDb(coreDb);
  const row = await db.selectFrom('backups').select(['state', 'sha256', 'host_id', 'manifest']).where('id', '=', backupId).executeTakeFirst();
  if (!row) throw new ApiError(404, `backup ${backupId} not found`);
  if ((row.state !== 'stored' && row.state !== 'verified') || !row.sha256)
    throw new ApiError(409, `backup ${backupId} is ${row.state}: only stored backups can be drilled`);
  const { token, hash } = newBackupToken();
  const secretName = downloadSecretName(backupId, randomBytes(6).toString('hex'));
  const noStorage = async (): Promise<BackupStorage> => {
    throw new ApiError(400, 'an identity for one call is taken by POST /v1/backups/{id}/drill only');
  };
  // Fail closed before anything is opened: an export nobody can decrypt, or one in clear, is worse than none.
  const recipients = req.export ? await activeRecipients(coreDb) : undefined;
  const identitySecret = await identityForCall(coreDb, secrets, storage ?? noStorage, backupId, req, secretName, actor);
  const opened = recipients ? await openExport(coreDb, secrets, storage ?? noStorage, { id: backupId, hostId: row.host_id }, recipients, actor) : undefined;
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
      ...(row.manifest ? { dumpBytes: row.manifest.database.size } : {}),
      ...(req.keycloak ? { keycloak: req.keycloak } : {}),
      ...(opened ? { export: opened.params } : {}),
    },
    expiresInMs: 3600_000,
    createdBy: actor,
  }).catch(async (err: unknown) => {
    await db.deleteFrom('backup_downloads').where('token_hash', '=', hash).execute();
    await secrets.delete(secretName);
    await secrets.delete(fileKeySecretName(secretName));
    if (opened) await opened.discard();
    throw err;
  });
  return { taskId: tasks[0]!.id, hostId: req.hostId };
}

/** The drill's realm export: its catalog entry, object and single-use upload target, and how to undo them. */
async function openExport(
  coreDb: Kysely<Database>,
  secrets: ApiDeps['secrets'],
  storage: () => Promise<BackupStorage>,
  backup: { id: string; hostId: string },
  recipients: BackupRecipient[],
  actor: string,
) {
  const store = await storage();
  const { id, token } = await openBackupExport(coreDb, store, backup, recipients, 3600_000);
  // The token reaches the drill host through the secret store: only its reference is in the task.
  await secrets.put(uploadSecretName(id), token, actor);
  return {
    params: {
      exportId: id,
      recipients: recipients.map((r) => r.recipient),
      upload: { url: `/v1/backup-export-uploads/${id}`, token: { $secret: uploadSecretName(id) }, mode: store.uploadMode },
    },
    discard: async () => {
      await exportsDb(coreDb)
        .updateTable('backup_exports')
        .set({ state: 'failed', error: 'the drill task was not created', upload_state: 'abandoned', upload_token_hash: null })
        .where('id', '=', id)
        .execute();
      await secrets.delete(uploadSecretName(id));
    },
  };
}
