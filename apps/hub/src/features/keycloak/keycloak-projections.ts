import type { Logger } from '@keyfleet/log';
import { type keycloakInstance, taskDefinitions, type verifyReport } from '@keyfleet/proto/v1';
import { type Kysely, sql } from 'kysely';
import type { z } from 'zod';
import type { ProjectedResult, ResultProjection, ResultProjections } from '../../dispatch/result-projection.js';
import { mapSecretRefs } from '../../secrets/map-secret-refs.js';
import type { Database } from '../../store/database.js';
import { newId } from '../../store/new-id.js';
import type { HostKeycloak, HostVerification } from './host-keycloak-schemas.js';
import { keycloakDb } from './keycloak-tables.js';

type Instance = z.output<typeof keycloakInstance>;
type Report = z.output<typeof verifyReport>;

/** Upserts one column of a host's Keycloak row unless a newer report is already there. */
async function upsert(
  trx: Kysely<Database>,
  hostId: string,
  column: 'instance' | 'last_verification',
  value: string,
  newer: ReturnType<typeof sql<boolean>>,
  merged: ReturnType<typeof sql<string>>,
): Promise<void> {
  // INSERT … SELECT from hosts: a host decommissioned meanwhile gets no row (and no FK error).
  await sql`
    INSERT INTO keycloak_hosts (host_id, ${sql.ref(column)})
    SELECT id, ${value}::jsonb FROM hosts WHERE id = ${hostId}
    ON CONFLICT (host_id) DO UPDATE SET ${sql.ref(column)} = ${merged}
     WHERE ${newer}`.execute(trx);
}

async function setKeycloak(trx: Kysely<Database>, r: ProjectedResult, instance: Instance | undefined): Promise<void> {
  const base = { updatedAt: r.finishedAt, taskId: r.taskId };
  const next: Partial<HostKeycloak> = instance
    ? {
        installed: true,
        version: instance.version,
        runtime: instance.runtime,
        ready: instance.ready,
        baseUrl: instance.baseUrl,
        ...(instance.uptimeSec === undefined ? {} : { uptimeSec: instance.uptimeSec }),
        ...(instance.realms ? { realms: instance.realms } : {}),
        ...base,
      }
    : { installed: false, ...base };
  const json = JSON.stringify(next);
  // A report without realms (start, stop) keeps the realms last seen. An older
  // result arriving late (agent re-sends after a restart) never overwrites a newer one.
  await upsert(
    trx,
    r.hostId,
    'instance',
    instance?.realms ? json : JSON.stringify({ realms: [], ...next }),
    sql<boolean>`(keycloak_hosts.instance IS NULL OR (keycloak_hosts.instance->>'updatedAt')::timestamptz <= ${r.finishedAt}::timestamptz)`,
    instance && !instance.realms
      ? sql<string>`jsonb_build_object('realms', coalesce(keycloak_hosts.instance->'realms', '[]'::jsonb)) || ${json}::jsonb`
      : sql<string>`${json}::jsonb`,
  );
}

async function setVerification(trx: Kysely<Database>, r: ProjectedResult, report: Report | undefined): Promise<void> {
  const verification: HostVerification =
    r.outcome === 'succeeded' && report
      ? { ...report, taskId: r.taskId }
      : {
          ok: false,
          checkedAt: report?.checkedAt ?? r.finishedAt,
          checks: report?.checks ?? [],
          error: r.error?.message ?? 'verification failed',
          taskId: r.taskId,
        };
  const json = JSON.stringify(verification);
  await upsert(
    trx,
    r.hostId,
    'last_verification',
    json,
    sql<boolean>`(keycloak_hosts.last_verification IS NULL OR (keycloak_hosts.last_verification->>'checkedAt')::timestamptz <= ${verification.checkedAt}::timestamptz)`,
    sql<string>`${json}::jsonb`,
  );
}

/** A failed task may still carry the report of the checks that failed in its output. */
function reportIn(output: unknown): Report | undefined {
  const candidate = typeof output === 'object' && output !== null && 'checks' in output ? output : (output as { verify?: unknown } | null)?.verify;
  const parsed = taskDefinitions['keycloak.verify'].output.safeParse(candidate);
  return parsed.success ? parsed.data : undefined;
}

const lifecycle: ResultProjection<'keycloak.start' | 'keycloak.stop' | 'keycloak.restart'> = async (trx, r) => {
  if (r.outcome === 'succeeded' && r.output) await setKeycloak(trx, r, r.output.instance);
};

/** Install and update report the instance and its verification; a failure may still report checks. */
const installOrUpdate: ResultProjection<'keycloak.install' | 'keycloak.update'> = async (trx, r) => {
  if (r.outcome === 'succeeded' && r.output) {
    await setKeycloak(trx, r, r.output.instance);
    if (r.output.verify) await setVerification(trx, r, r.output.verify);
  } else if (r.outcome === 'failed') {
    const report = reportIn(r.rawOutput);
    if (report) await setVerification(trx, r, report);
  }
};

async function recordRealmSpec(trx: Kysely<Database>, r: ProjectedResult<'keycloak.realm.apply'>, log: Logger): Promise<void> {
  if (r.outcome !== 'succeeded') return;
  const input = taskDefinitions['keycloak.realm.apply'].input.safeParse(r.params);
  if (!input.success) {
    log.warn({ taskId: r.taskId, issues: input.error.issues.slice(0, 5) }, 'stored params of a realm apply no longer parse; spec not recorded');
    return;
  }
  const db = keycloakDb(trx);
  const spec = mapSecretRefs(input.data.spec, (ref) => ({ $secret: ref.$secret }));
  const realm = input.data.spec.realm;
  // The host row lock serialises version numbers per host across hubs; results are
  // projected in host id order, so two batches never wait on each other in a cycle.
  await db.selectFrom('hosts').select('id').where('id', '=', r.hostId).forUpdate().executeTakeFirstOrThrow();
  const { latest } = await db
    .selectFrom('realm_specs')
    .select((eb) => eb.fn.coalesce(eb.fn.max('version'), sql<number>`0`).as('latest'))
    .where('host_id', '=', r.hostId)
    .where('realm', '=', realm)
    .executeTakeFirstOrThrow();
  const batch = await db
    .selectFrom('tasks')
    .innerJoin('task_batches', 'task_batches.id', 'tasks.batch_id')
    .select('task_batches.created_by')
    .where('tasks.id', '=', r.taskId)
    .executeTakeFirstOrThrow();
  await db
    .insertInto('realm_specs')
    .values({
      id: newId('rs'),
      host_id: r.hostId,
      realm,
      version: Number(latest) + 1,
      spec: JSON.stringify(spec),
      changes: JSON.stringify(r.output?.changes ?? []),
      task_id: r.taskId,
      applied_at: r.finishedAt,
      applied_by: batch.created_by,
    })
    .execute();
}

/** The host's Keycloak record and verification, and the realm spec history, from Keycloak task results. */
export const keycloakProjections: ResultProjections = {
  'keycloak.install': installOrUpdate,
  'keycloak.update': installOrUpdate,
  'keycloak.start': lifecycle,
  'keycloak.stop': lifecycle,
  'keycloak.restart': lifecycle,
  'keycloak.status': async (trx, r) => {
    if (r.outcome !== 'succeeded' || !r.output || (r.output.installed && !r.output.instance)) return;
    await setKeycloak(trx, r, r.output.installed ? r.output.instance : undefined);
  },
  'keycloak.verify': async (trx, r) => {
    if (r.outcome === 'succeeded') {
      if (r.output) await setVerification(trx, r, r.output);
    } else if (r.outcome === 'failed') {
      await setVerification(trx, r, reportIn(r.rawOutput));
    }
  },
  'keycloak.realm.apply': recordRealmSpec,
  // A restore starts Keycloak on the restored data (and, on a host without one, installed it first).
  'backup.restore': async (trx, r) => {
    if (r.outcome !== 'succeeded' || !r.output) return;
    if (r.output.instance) await setKeycloak(trx, r, r.output.instance);
    await setVerification(trx, r, r.output.verify);
  },
};
