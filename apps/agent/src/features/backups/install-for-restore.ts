import type { taskDefinitions } from '@keyfleet/proto/v1';
import type { z } from 'zod';
import type { TaskContext } from '../../task-handler.js';
import { TaskFailure } from '../../task-failure.js';
import { keycloakInstall } from '../keycloak/index.js';

type RestoreInput = z.output<(typeof taskDefinitions)['backup.restore']['input']>;

/**
 * The disaster case: a host with only the agent gets Keycloak of the backup's version, through
 * the Keycloak feature's own install, before the backup goes into it. The install's verification
 * runs without the config's verifyLogin: that login's realm and user arrive with the backup, so
 * the restore verifies with it at the end instead.
 */
export async function installForRestore(input: RestoreInput, ctx: TaskContext): Promise<void> {
  const config = input.install;
  if (!config)
    throw new TaskFailure(
      'invalid_input',
      `Keycloak is not installed on this host, and the restore of backup ${input.backupId} carries no Keycloak ${input.keycloakVersion} to install first (the hub knows no config of the backup's host): restore with installConfig (--install-config)`,
    );
  if (config.version !== input.keycloakVersion)
    throw new TaskFailure(
      'invalid_input',
      `backup ${input.backupId} is of Keycloak ${input.keycloakVersion}, the install config is for ${config.version}: a database is not moved across versions by a restore`,
    );
  if (config.database.kind === 'dev-file')
    throw new TaskFailure('invalid_input', 'a backup restores into Postgres: install with database kind "external" or, on docker, "bundled", not "dev-file"');
  const { verifyLogin: _restoredLater, ...withoutLogin } = config;
  ctx.progress(2, `no Keycloak on this host: installing Keycloak ${config.version} (${config.runtime} runtime) to restore into`);
  try {
    await keycloakInstall(withoutLogin, {
      ...ctx,
      progress: (_percent, message, transfer) => ctx.progress(undefined, message && `install: ${message}`, transfer),
    });
  } catch (err) {
    throw new TaskFailure(
      err instanceof TaskFailure ? err.code : 'handler_error',
      `installing Keycloak ${config.version} for the restore of ${input.backupId} failed, nothing was restored: ${(err as Error).message}`,
    );
  }
  ctx.progress(8, `Keycloak ${config.version} installed; restoring backup ${input.backupId} into it`);
}
