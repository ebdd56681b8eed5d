import { join } from 'node:path';
import type { TaskHandler } from '../../task-handler.js';
import { type UpgradeHooks, updateKeycloak } from '../keycloak/index.js';
import { DatabaseCopy } from './database-copy.js';
import { keycloakDatabase } from './keycloak-database.js';
import { preUpdateBackup } from './pre-update-backup.js';

/** A rollback runs on its own clock: a timed-out task still puts the old database back. */
const RESTORE_TIMEOUT_MS = 15 * 60_000;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * keycloak.update, made reversible across versions. A new Keycloak version migrates the database
 * schema, which the old version cannot run on, so putting the old binaries back is not enough.
 * This host can write backups but never read one (it holds no identity), so two copies:
 * - the pre-update backup unit, encrypted to the fleet's recipients and in the catalog: the
 *   operator's way back, restorable anywhere, long after;
 * - a local `pg_dump -Fc` taken once the old Keycloak stopped (so it has every write), kept in
 *   the agent's 0700 state dir only while the upgrade runs: what an automatic rollback restores
 *   before the old version starts again. It is deleted when the upgrade ends, unless restoring
 *   it failed (then it is the operator's copy of the newest data, and the error names it).
 * A side-by-side (rolling) upgrade never runs the new version alone on the database, and the
 * old one keeps writing meanwhile: nothing is copied or restored there.
 */
export const safeKeycloakUpdate: TaskHandler<'keycloak.update'> = (config, ctx) => {
  const copy = new DatabaseCopy(join(ctx.stateDir, 'keycloak-pre-update.dump'));
  let keep = false;
  const hooks: UpgradeHooks = {
    async beforeUpgrade(record, next, h) {
      h.note('pre-update backup', `a backup unit of Keycloak ${record.version} before the upgrade to ${next.version}`);
      const backup = await preUpdateBackup(record, next.version, ctx);
      h.note('pre-update backup', backup.backupId ? backup.detail : `skipped: ${backup.detail}`);
      return backup;
    },
    async databaseQuiet(record, h) {
      if (record.config.database.kind === 'dev-file') return;
      const taken = await copy.take(keycloakDatabase(record), h.signal);
      h.note('copied the database for a rollback', `${mib(taken.bytes)} in ${(taken.ms / 1000).toFixed(1)}s, kept on this host until the upgrade ends`);
    },
    async restoreDatabase(record, h) {
      if (!(await copy.exists())) return undefined;
      try {
        const restored = await copy.restore(keycloakDatabase(record), AbortSignal.timeout(RESTORE_TIMEOUT_MS));
        const detail = `pre-update database restored in ${(restored.ms / 1000).toFixed(1)}s`;
        h.note('restored the pre-update database', detail);
        return detail;
      } catch (err) {
        keep = true;
        throw new Error(`restoring the pre-update database failed (its copy is kept at ${copy.file}): ${(err as Error).message}`);
      }
    },
    async finish(h) {
      if (keep) h.log.warn({ file: copy.file }, 'the pre-update database copy is kept: restoring it failed');
      else await copy.remove();
    },
  };
  return updateKeycloak(config, ctx, hooks);
};
