import type { Logger } from '@keyfleet/log';
import type { TaskDefinitions, TaskName } from '@keyfleet/proto/v1';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Database, Json } from '../store/database.js';

/** A stored result as a projection sees it: secrets already masked, output parsed with the declaration. */
export interface ProjectedResult<K extends TaskName = TaskName> {
  taskId: string;
  hostId: string;
  type: K;
  params: Json;
  outcome: 'succeeded' | 'failed' | 'cancelled';
  /** The output parsed with the task's declared schema; undefined when absent or not matching (logged). */
  output: z.output<TaskDefinitions[K]['output']> | undefined;
  /** The output as the agent sent it: a failed task may carry a partial report its projection can use. */
  rawOutput: unknown;
  error: { code: string; message: string } | null;
  finishedAt: string;
}

/**
 * Keeps a read model up to date from a task result. Runs in the transaction that
 * stores the result, so the two never disagree; a projection must never throw for
 * a result it cannot use (log and return), or the result could not be stored.
 */
export type ResultProjection<K extends TaskName> = (trx: Kysely<Database>, r: ProjectedResult<K>, log: Logger) => Promise<void>;

/** Which read models each task type's results feed; types not listed feed none. */
export type ResultProjections = { readonly [K in TaskName]?: ResultProjection<K> };
