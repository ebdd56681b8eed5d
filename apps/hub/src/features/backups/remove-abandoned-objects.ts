import type { Logger } from '@keyfleet/log';
import type { BackupStorage } from './storage/backup-storage.js';

export interface AbandonedObject {
  id: string;
  storage_key: string;
  storage_kind: 'local' | 's3';
  upload_id: string | null;
}

/**
 * Removes what storage holds of abandoned uploads (a partial file, an S3 multipart upload) and
 * closes each one that is gone; one that cannot be removed yet stays abandoned for the next sweep.
 * Objects written to another kind of storage than this hub's are left to a hub that has it.
 */
export async function removeAbandonedObjects(
  abandoned: AbandonedObject[],
  storage: () => Promise<BackupStorage>,
  close: (id: string) => Promise<unknown>,
  log: Logger,
  noun: string,
): Promise<number> {
  if (abandoned.length === 0) return 0;
  const store = await storage();
  let cleaned = 0;
  for (const x of abandoned) {
    if (x.storage_kind !== store.kind) continue;
    try {
      await store.remove(x.storage_key, x.upload_id);
      await close(x.id);
      cleaned++;
      log.info({ id: x.id }, `removed what storage held of a failed ${noun}`);
    } catch (err) {
      log.warn({ err, id: x.id }, `cannot remove a failed ${noun} from storage yet`);
    }
  }
  return cleaned;
}
