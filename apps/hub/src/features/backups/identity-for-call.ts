import type { Kysely } from 'kysely';
import { encodeAgeFileKey } from '@keyfleet/proto/v1';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import type { Database } from '../../store/database.js';
import { backupsDb } from './backups-tables.js';
import type { BackupStorage } from './storage/backup-storage.js';
import { unwrapFileKey } from './unwrap-file-key.js';

/** How a restore or drill names what opens the backup: a stored identity, or one for this call only. */
export type IdentityChoice = { identitySecret: string; identity?: undefined } | { identity: string; identitySecret?: undefined };

/** The hub secret holding the file key of one per-call restore or drill; it dies with its download token. */
export const fileKeySecretName = (downloadSecret: string) => `${downloadSecret}.filekey`;

/**
 * The hub secret a restore or drill reads to open backup `backupId`. A named secret must exist
 * (404). An identity given for this call is used here, once: it opens the backup's header, and
 * what is kept (sealed, until the task ends or its token expires) is the file key, which opens this
 * backup and no other. The identity itself is never stored, logged or sent anywhere. 400 when it
 * is not an identity or does not open the backup, before any task exists.
 */
export async function identityForCall(
  coreDb: Kysely<Database>,
  secrets: ApiDeps['secrets'],
  storage: () => Promise<BackupStorage>,
  backupId: string,
  choice: { identitySecret?: string; identity?: string },
  downloadSecret: string,
  actor: string,
): Promise<string> {
  if ((choice.identitySecret === undefined) === (choice.identity === undefined))
    throw new ApiError(400, 'give exactly one of identitySecret (a hub secret holding the age identity) and identity (an age identity for this call only)');
  if (choice.identitySecret !== undefined) {
    const found = await coreDb.selectFrom('secrets').select('name').where('name', '=', choice.identitySecret).executeTakeFirst();
    if (!found)
      throw new ApiError(
        404,
        `no secret ${choice.identitySecret}: store the age identity with keyfleet secrets set ${choice.identitySecret} --from-file key.txt, or give it for this call (--identity-file)`,
      );
    return choice.identitySecret;
  }
  const row = await backupsDb(coreDb).selectFrom('backups').select(['storage_key', 'storage_kind']).where('id', '=', backupId).executeTakeFirst();
  if (!row) throw new ApiError(404, `backup ${backupId} not found`);
  const store = await storage();
  if (row.storage_kind !== store.kind) throw new ApiError(409, `backup ${backupId} is in ${row.storage_kind} storage; this hub uses ${store.kind}`);
  const fileKey = await unwrapFileKey(await store.read(row.storage_key), choice.identity!, backupId);
  const name = fileKeySecretName(downloadSecret);
  await secrets.put(name, encodeAgeFileKey(fileKey), actor);
  return name;
}
