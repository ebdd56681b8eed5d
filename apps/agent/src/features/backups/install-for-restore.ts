import type { taskDefinitions } from '@keyfleet/proto/v1';
import type { z } from 'zod';
import type { TaskContext } from '../../task-handler.js';
import { TaskFailure } from '../../task-failure.js';
import { keycloakInstall } from '../keycloak/index.js';

type Install = NonNullable<z.output<(typeof taskDefinitions)['backup.restore']['input']>['install']>;

/**
 * Keycloak of the backup's version for a host with only the agent, through the Keycloak
 * feature's own install (its steps as `install: …` progress lines). On the restored database
 * (`restored`) it verifies with the config's verifyLogin; on an empty one (a bundled database the
 * install creates) without it, whose realm and user arrive with the backup.
 */
export async function installForRestore(config: Install, backupId: string, database: 'empty' | 'restored', ctx: TaskContext) {
  const { verifyLogin, ...withoutLogin } = config;
  try {
    return await keycloakInstall(database === 'restored' || !verifyLogin ? config : withoutLogin, {
      ...ctx,
      progress: (_percent, message, transfer) => ctx.progress(undefined, message && `install: ${message}`, transfer),
    });
  } catch (err) {
    const what =
      database === 'restored'
        ? `backup ${backupId}'s database is restored, but installing Keycloak ${config.version} on it failed`
        : `installing Keycloak ${config.version} for the restore of ${backupId} failed, nothing was restored`;
    throw new TaskFailure(err instanceof TaskFailure ? err.code : 'handler_error', `${what}: ${(err as Error).message}`);
  }
}
