import type { taskDefinitions } from '@keyfleet/proto/v1';
import type { z } from 'zod';
import { TaskFailure } from '../../task-failure.js';

type RestoreInput = z.output<(typeof taskDefinitions)['backup.restore']['input']>;

/** The Keycloak a restore onto a host with only the agent installs, refused before anything runs when it cannot serve the backup. */
export function restoreInstall(input: RestoreInput): NonNullable<RestoreInput['install']> {
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
  return config;
}
