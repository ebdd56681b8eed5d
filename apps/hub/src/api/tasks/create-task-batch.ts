import * as v1 from '@keyfleet/proto/v1';
import { sql, type Kysely } from 'kysely';
import { collectSecretRefs } from '../../secrets/collect-secret-refs.js';
import type { Database } from '../../store/database.js';
import { newId } from '../../store/new-id.js';
import { SQL_NULL } from '../../store/sql-keywords.js';
import { ApiError } from '../api-error.js';
import { describeIssues } from '../describe-issues.js';
import { parseSelector } from '../parse-selector.js';

export type TaskTarget = { hostId: string } | { selector: string } | { all: true };

export interface CreateTaskBatchInput {
  type: string;
  target: TaskTarget;
  params?: unknown;
  timeoutMs?: number;
  expiresInMs: number;
  createdBy: string;
}

// Keeps each multi-row INSERT well under Postgres' 65535 bind parameters.
const CHUNK = 1000;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/**
 * Validates a task request against the proto declaration and the target hosts,
 * then writes the batch, one queued task per host and their first state events in
 * one transaction. Every refusal is a 400 that says what to fix.
 */
export async function createTaskBatch(db: Kysely<Database>, input: CreateTaskBatchInput) {
  const { type } = input;
  if (!v1.isTaskName(type)) {
    const knownTypes = Object.keys(v1.taskDefinitions);
    throw new ApiError(400, `unknown task type "${type}"; known types: ${knownTypes.join(', ')}`, { knownTypes });
  }
  const definition = v1.taskDefinitions[type];
  // Checked before the schema, whose messages would otherwise come first and not say why.
  const inline = collectSecretRefs(input.params).filter((r) => r.hasValue);
  if (inline.length > 0) {
    throw new ApiError(
      400,
      `secret values are never sent in params; store them with PUT /v1/secrets/{name} (at ${inline.map((r) => `params.${r.path}`).join(', ')})`,
      {
        paths: inline.map((r) => r.path),
      },
    );
  }
  const parsed = definition.input.safeParse(input.params ?? {});
  if (!parsed.success) throw new ApiError(400, `invalid params for ${type}: ${describeIssues(parsed.error)}`, parsed.error.issues);
  await requireSecrets(db, parsed.data);

  const { target } = input;
  let hostQuery = db.selectFrom('hosts').select(['id', 'hostname', 'task_types']).orderBy('id');
  let storedTarget: Record<string, unknown>;
  let nothingMatched: string;
  if ('hostId' in target) {
    hostQuery = hostQuery.where('id', '=', target.hostId);
    storedTarget = { kind: 'host', hostId: target.hostId };
    nothingMatched = `target host ${target.hostId} not found`;
  } else if ('selector' in target) {
    const labels = parseSelector(target.selector);
    hostQuery = hostQuery.where(sql<boolean>`labels @> ${JSON.stringify(labels)}::jsonb`);
    storedTarget = { kind: 'labels', labels };
    nothingMatched = `selector "${target.selector}" matches no host`;
  } else {
    storedTarget = { kind: 'all' };
    nothingMatched = 'no host is enrolled';
  }
  const hosts = await hostQuery.execute();
  // A well-formed request about hosts that are not there: 404, like any missing resource.
  if (hosts.length === 0) throw new ApiError(404, nothingMatched);

  // A host that has said hello lists its task types; one that has not yet is given the benefit of the doubt.
  const unable = hosts.filter((h) => h.task_types.length > 0 && !h.task_types.includes(type));
  if (unable.length > 0) {
    const names = unable.slice(0, 20).map((h) => `${h.hostname} (${h.id})`);
    const more = unable.length > 20 ? ` and ${unable.length - 20} more` : '';
    // The request is fine; the hosts' current agents are not (409, it may change with an upgrade).
    throw new ApiError(409, `task type ${type} is not supported by the agent on: ${names.join(', ')}${more}`, { hostIds: unable.map((h) => h.id) });
  }

  const batchId = newId('b');
  const params = JSON.stringify(parsed.data ?? null);
  const timeoutMs = input.timeoutMs ?? definition.defaultTimeoutMs;
  const expiresAt = new Date(Date.now() + input.expiresInMs);
  const tasks = hosts.map((h) => ({ id: newId('t'), hostId: h.id, state: 'queued' as const }));

  const batch = await db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('task_batches')
      .values({ id: batchId, type, params, target: JSON.stringify(storedTarget), created_by: input.createdBy })
      .returningAll()
      .executeTakeFirstOrThrow();
    for (const chunk of chunks(tasks)) {
      await trx
        .insertInto('tasks')
        .values(
          chunk.map((t) => ({
            id: t.id,
            batch_id: batchId,
            host_id: t.hostId,
            type,
            params,
            state: 'queued' as const,
            timeout_ms: timeoutMs,
            expires_at: expiresAt,
            progress: SQL_NULL,
            output: SQL_NULL,
            error: SQL_NULL,
          })),
        )
        .execute();
      await trx
        .insertInto('task_events')
        .values(chunk.map((t) => ({ task_id: t.id, batch_id: batchId, kind: 'state' as const, data: JSON.stringify({ state: 'queued' }) })))
        .execute();
    }
    return row;
  });
  return { batch, tasks };
}

/** Every `{ $secret }` in the params must name a stored secret, so a typo fails now rather than at dispatch. */
async function requireSecrets(db: Kysely<Database>, params: unknown): Promise<void> {
  const refs = collectSecretRefs(params);
  if (refs.length === 0) return;
  const names = [...new Set(refs.map((r) => r.name))];
  const stored = new Set((await db.selectFrom('secrets').select('name').where('name', 'in', names).execute()).map((r) => r.name));
  const missing = refs.filter((r) => !stored.has(r.name));
  if (missing.length > 0) {
    const list = missing.map((r) => `"${r.name}" (at params.${r.path})`).join(', ');
    throw new ApiError(404, `unknown secret${missing.length > 1 ? 's' : ''} ${list}; store it first with PUT /v1/secrets/{name}`, {
      secrets: [...new Set(missing.map((r) => r.name))],
    });
  }
}
