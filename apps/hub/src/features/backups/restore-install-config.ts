import { keycloakConfig } from '@keyfleet/proto/v1';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import { ApiError } from '../../api/api-error.js';
import { describeIssues } from '../../api/describe-issues.js';
import type { Database } from '../../store/database.js';
import type { KeycloakTables } from '../keycloak/keycloak-tables.js';

type KeycloakConfig = z.output<typeof keycloakConfig>;

export interface RestoreInstallRequest {
  backupId: string;
  /** The host the backup was taken from. */
  sourceHostId: string;
  targetHostId: string;
  /** The backup's manifest version: the only one its database goes into. */
  version: string;
  /** The operator's fields over the source's config (a whole `database`, `distUrl`, ports …). */
  override?: Record<string, unknown>;
}

/**
 * The Keycloak a restore installs on a target without one (the disaster case), or
 * undefined for a target that runs Keycloak (the restore replaces its data and keeps its install).
 * The install goes with the task whenever the target is not known to run Keycloak; an agent
 * that finds one installed ignores it.
 * By default the backup's host's own config as it last applied it (of the backup's version when
 * there is one), secret references and all: the same hostname (token issuer) and the same
 * bootstrapAdmin secret, whose password the restored master realm's admin has. The hub keeps no
 * other copy of a host's config than the params of its succeeded keycloak.install and
 * keycloak.update tasks, so that is where it is read.
 */
export async function restoreInstallConfig(coreDb: Kysely<Database>, r: RestoreInstallRequest): Promise<KeycloakConfig | undefined> {
  const db = coreDb.withTables<KeycloakTables>();
  const keycloakOf = async (hostId: string) =>
    (await db.selectFrom('keycloak_hosts').select('instance').where('host_id', '=', hostId).executeTakeFirst())?.instance ?? null;
  const target = await keycloakOf(r.targetHostId);
  if (target?.installed) {
    if (r.override)
      throw new ApiError(
        409,
        `host ${r.targetHostId} runs Keycloak ${target.version}: a restore replaces its data and keeps its install, so installConfig (for a host without Keycloak) does not apply`,
      );
    return undefined;
  }
  const applied = await db
    .selectFrom('tasks')
    .select('params')
    .where('host_id', '=', r.sourceHostId)
    .where('type', 'in', ['keycloak.install', 'keycloak.update'])
    .where('state', '=', 'succeeded')
    .orderBy('finished_at', 'desc')
    .limit(100)
    .execute();
  const configs = applied.flatMap((a) => {
    const parsed = keycloakConfig.safeParse(a.params);
    return parsed.success ? [parsed.data] : [];
  });
  const base = configs.find((c) => c.version === r.version) ?? configs[0];
  // A host the hub has no Keycloak report of may well run one (the agent then ignores the install): today's restore.
  if (!base && !r.override && !target) return undefined;
  if (!base && !r.override)
    throw new ApiError(
      400,
      `host ${r.targetHostId} has no Keycloak, so the restore installs Keycloak ${r.version} there first, and the hub knows no config of the backup's host ${r.sourceHostId} (no succeeded keycloak.install or keycloak.update): give installConfig`,
    );
  const parsed = keycloakConfig.safeParse({ ...base, ...r.override });
  if (!parsed.success)
    throw new ApiError(
      400,
      `the Keycloak to install on host ${r.targetHostId} (${base ? `host ${r.sourceHostId}'s config with installConfig over it` : 'installConfig'}) is not a valid Keycloak config: ${describeIssues(parsed.error)}`,
      parsed.error.issues,
    );
  const config = parsed.data;
  if (config.version !== r.version)
    throw new ApiError(
      400,
      `backup ${r.backupId} is of Keycloak ${r.version}, the Keycloak to install on host ${r.targetHostId} is ${config.version}: a restore does not move a database across versions (give installConfig with version ${r.version}${config.runtime === 'process' ? ' and its distUrl' : ' and its image'})`,
    );
  if (config.database.kind === 'dev-file')
    throw new ApiError(400, 'a backup restores into Postgres: give installConfig a database of kind "external" or, on docker, "bundled", not "dev-file"');
  const sourceDb = configs[0]?.database;
  if (
    r.sourceHostId !== r.targetHostId &&
    config.database.kind === 'external' &&
    sourceDb?.kind === 'external' &&
    sourceDb.url === config.database.url &&
    (await keycloakOf(r.sourceHostId))?.installed
  )
    throw new ApiError(
      409,
      `the Keycloak to install on host ${r.targetHostId} would use ${config.database.url}, the database host ${r.sourceHostId}'s Keycloak still runs on: restoring into it would replace that Keycloak's data; give another database in installConfig`,
    );
  return config;
}
