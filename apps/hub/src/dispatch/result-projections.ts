import type { Logger } from '@keyfleet/log';
import { v1 } from '@keyfleet/proto';
import { sql, type Kysely } from 'kysely';
import type { z } from 'zod';
import { mapSecretRefs } from '../secrets/map-secret-refs.js';
import type { Database, HostKeycloak, HostVerification, Json } from '../store/database.js';
import { newId } from '../store/new-id.js';

/** A stored result, as a projection sees it (output and error already redacted). */
export interface ProjectedResult {
  taskId: string;
  hostId: string;
  type: string;
  params: Json;
  outcome: 'succeeded' | 'failed' | 'cancelled';
  output: unknown;
  error: { code: string; message: string } | null;
  finishedAt: string;
}

/**
 * Keeps a read model up to date from a task result. Runs in the transaction that
 * stores the result, so the two never disagree. An output that does not match the
 * task's declared output is logged and left out; it never blocks the result.
 */
export type ResultProjection = (trx: Kysely<Database>, r: ProjectedResult, log: Logger) => Promise<void>;

type Instance = { runtime: 'docker' | 'process'; version: string; ready: boolean; baseUrl: string; uptimeSec?: number; realms?: string[] };
type Report = { ok: boolean; checkedAt: string; checks: HostVerification['checks'] };

/** The output parsed with the task's declared schema, or undefined (logged) when it does not match. */
function outputOf<N extends keyof typeof v1.taskDefinitions>(name: N, r: ProjectedResult, log: Logger) {
  const parsed = v1.taskDefinitions[name].output.safeParse(r.output);
  if (parsed.success) return parsed.data as z.infer<(typeof v1.taskDefinitions)[N]['output']>;
  log.warn({ taskId: r.taskId, type: r.type, issues: parsed.error.issues.slice(0, 5) }, 'task output does not match its declaration; host record not updated');
  return undefined;
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
  // A report without realms (start, stop) keeps the realms last seen. An older
  // result arriving late (agent re-sends after a restart) never overwrites a newer one.
  const json = JSON.stringify(next);
  await trx
    .updateTable('hosts')
    .set({
      keycloak:
        instance && !instance.realms
          ? sql<string>`jsonb_build_object('realms', coalesce(keycloak->'realms', '[]'::jsonb)) || ${json}::jsonb`
          : sql<string>`${json}::jsonb`,
    })
    .where('id', '=', r.hostId)
    .where(sql<boolean>`(keycloak IS NULL OR (keycloak->>'updatedAt')::timestamptz <= ${r.finishedAt}::timestamptz)`)
    .execute();
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
  await trx
    .updateTable('hosts')
    .set({ last_verification: JSON.stringify(verification) })
    .where('id', '=', r.hostId)
    .where(sql<boolean>`(last_verification IS NULL OR (last_verification->>'checkedAt')::timestamptz <= ${verification.checkedAt}::timestamptz)`)
    .execute();
}

const lifecycle =
  (name: 'keycloak.start' | 'keycloak.stop' | 'keycloak.restart'): ResultProjection =>
  async (trx, r, log) => {
    if (r.outcome !== 'succeeded') return;
    const out = outputOf(name, r, log);
    if (out) await setKeycloak(trx, r, out.instance);
  };

/** A failed task may still carry the report of the checks that failed in its output. */
const reportIn = (output: unknown): Report | undefined => {
  const candidate = typeof output === 'object' && output !== null && 'checks' in output ? output : (output as { verify?: unknown } | null)?.verify;
  const parsed = v1.taskDefinitions['keycloak.verify'].output.safeParse(candidate);
  return parsed.success ? parsed.data : undefined;
};

async function recordRealmSpec(trx: Kysely<Database>, r: ProjectedResult, log: Logger): Promise<void> {
  if (r.outcome !== 'succeeded') return;
  const input = v1.taskDefinitions['keycloak.realm.apply'].input.safeParse(r.params);
  if (!input.success) {
    log.warn({ taskId: r.taskId, issues: input.error.issues.slice(0, 5) }, 'stored params of a realm apply no longer parse; spec not recorded');
    return;
  }
  const spec = mapSecretRefs(input.data.spec, (ref) => ({ $secret: ref.$secret }));
  const changes = outputOf('keycloak.realm.apply', r, log)?.changes ?? [];
  const realm = input.data.spec.realm;
  // The host row lock serialises version numbers per host across hubs; results are
  // projected in host id order, so two batches never wait on each other in a cycle.
  await trx.selectFrom('hosts').select('id').where('id', '=', r.hostId).forUpdate().executeTakeFirstOrThrow();
  const { latest } = await trx
    .selectFrom('realm_specs')
    .select((eb) => eb.fn.coalesce(eb.fn.max('version'), sql<number>`0`).as('latest'))
    .where('host_id', '=', r.hostId)
    .where('realm', '=', realm)
    .executeTakeFirstOrThrow();
  const batch = await trx
    .selectFrom('tasks')
    .innerJoin('task_batches', 'task_batches.id', 'tasks.batch_id')
    .select('task_batches.created_by')
    .where('tasks.id', '=', r.taskId)
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('realm_specs')
    .values({
      id: newId('rs'),
      host_id: r.hostId,
      realm,
      version: Number(latest) + 1,
      spec: JSON.stringify(spec),
      changes: JSON.stringify(changes),
      task_id: r.taskId,
      applied_at: r.finishedAt,
      applied_by: batch.created_by,
    })
    .execute();
}

/** Which read models each task type's results feed; task types not listed feed none. */
export const resultProjections: Partial<Record<keyof typeof v1.taskDefinitions, ResultProjection>> = {
  'keycloak.install': async (trx, r, log) => {
    if (r.outcome === 'succeeded') {
      const out = outputOf('keycloak.install', r, log);
      if (!out) return;
      await setKeycloak(trx, r, out.instance);
      await setVerification(trx, r, out.verify);
    } else if (r.outcome === 'failed') {
      const report = reportIn(r.output);
      if (report) await setVerification(trx, r, report);
    }
  },
  'keycloak.update': async (trx, r, log) => {
    if (r.outcome === 'succeeded') {
      const out = outputOf('keycloak.update', r, log);
      if (!out) return;
      await setKeycloak(trx, r, out.instance);
      if (out.verify) await setVerification(trx, r, out.verify);
    } else if (r.outcome === 'failed') {
      const report = reportIn(r.output);
      if (report) await setVerification(trx, r, report);
    }
  },
  'keycloak.start': lifecycle('keycloak.start'),
  'keycloak.stop': lifecycle('keycloak.stop'),
  'keycloak.restart': lifecycle('keycloak.restart'),
  'keycloak.status': async (trx, r, log) => {
    if (r.outcome !== 'succeeded') return;
    const out = outputOf('keycloak.status', r, log);
    if (!out || (out.installed && !out.instance)) return;
    await setKeycloak(trx, r, out.installed ? out.instance : undefined);
  },
  'keycloak.verify': async (trx, r, log) => {
    if (r.outcome === 'succeeded') {
      const out = outputOf('keycloak.verify', r, log);
      if (out) await setVerification(trx, r, out);
    } else if (r.outcome === 'failed') {
      await setVerification(trx, r, reportIn(r.output));
    }
  },
  'keycloak.realm.apply': recordRealmSpec,
};
