import { join } from 'node:path';
import type { SecretStore } from '../../../secrets/secret-store.js';
import type { BackupStorage } from './backup-storage.js';
import { LocalDirStorage } from './local-dir-storage.js';
import { S3Storage } from './s3-storage.js';

/**
 * The hub's backup storage as its environment configures it:
 * KEYFLEET_BACKUP_STORAGE `local` (default) or `s3`;
 * local: KEYFLEET_BACKUP_DIR (default `<KEYFLEET_DATA_DIR or .keyfleet>/backups`);
 * s3: KEYFLEET_BACKUP_S3_BUCKET, KEYFLEET_BACKUP_S3_ENDPOINT (omit for AWS), KEYFLEET_BACKUP_S3_REGION
 * (us-east-1), KEYFLEET_BACKUP_S3_PREFIX, KEYFLEET_BACKUP_S3_PATH_STYLE (default true with an
 * endpoint); its credentials are the hub secrets `backup-s3-access-key-id` and
 * `backup-s3-secret-access-key`, read on each use so rotating them needs no restart.
 */
export function storageFromEnv(env: NodeJS.ProcessEnv, secrets: Pick<SecretStore, 'reveal'>): () => Promise<BackupStorage> {
  const kind = env.KEYFLEET_BACKUP_STORAGE || 'local';
  if (kind === 'local') {
    const storage = new LocalDirStorage(env.KEYFLEET_BACKUP_DIR || join(env.KEYFLEET_DATA_DIR || '.keyfleet', 'backups'));
    return async () => storage;
  }
  if (kind !== 's3') throw new Error(`KEYFLEET_BACKUP_STORAGE must be local or s3, got "${kind}"`);
  const bucket = env.KEYFLEET_BACKUP_S3_BUCKET;
  if (!bucket) throw new Error('KEYFLEET_BACKUP_STORAGE=s3 needs KEYFLEET_BACKUP_S3_BUCKET');
  const endpoint = env.KEYFLEET_BACKUP_S3_ENDPOINT || undefined;
  let cached: { credentials: string; storage: S3Storage } | undefined;
  return async () => {
    const names = ['backup-s3-access-key-id', 'backup-s3-secret-access-key'];
    const { values, problems } = await secrets.reveal(names);
    if (problems.size > 0) throw new Error(`S3 backup storage credentials: ${[...problems.values()].join('; ')}`);
    const [accessKeyId, secretAccessKey] = names.map((n) => values.get(n) ?? '');
    const credentials = `${accessKeyId}\n${secretAccessKey}`;
    if (cached?.credentials !== credentials) {
      cached = {
        credentials,
        storage: new S3Storage({
          endpoint,
          region: env.KEYFLEET_BACKUP_S3_REGION || 'us-east-1',
          bucket,
          prefix: env.KEYFLEET_BACKUP_S3_PREFIX ?? '',
          forcePathStyle: env.KEYFLEET_BACKUP_S3_PATH_STYLE ? env.KEYFLEET_BACKUP_S3_PATH_STYLE === 'true' : endpoint !== undefined,
          accessKeyId: accessKeyId!,
          secretAccessKey: secretAccessKey!,
        }),
      };
    }
    return cached.storage;
  };
}
