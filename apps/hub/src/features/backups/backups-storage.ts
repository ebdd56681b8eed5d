import type { ApiDeps } from '../../api/api-deps.js';
import type { BackupStorage } from './storage/backup-storage.js';
import { storageFromEnv } from './storage/storage-from-env.js';

const byHub = new WeakMap<ApiDeps['secrets'], () => Promise<BackupStorage>>();

/** One storage per hub (routes and sweeper share it), configured from the hub's environment. */
export function backupsStorage(deps: Pick<ApiDeps, 'secrets'>): () => Promise<BackupStorage> {
  let storage = byHub.get(deps.secrets);
  if (!storage) {
    storage = storageFromEnv(process.env, deps.secrets);
    byHub.set(deps.secrets, storage);
  }
  return storage;
}
