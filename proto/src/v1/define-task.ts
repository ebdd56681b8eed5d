import type { z } from 'zod';

/**
 * Everything about a task type that is not agent code. The registry in
 * `tasks/index.ts` turns these into the agent's handler contract, the hub's
 * validation and OpenAPI request union, the typed clients and the CLI's
 * `tasks run <type>` parameters and help.
 *
 * There is no retry policy: delivery is at-least-once and execution at-most-once
 * per task id (the agent journals ids before running them), so a run cut off by an
 * agent restart ends `failed` with code `interrupted` and is never re-run behind the
 * operator's back — for a Keycloak update or a restore that would be unsafe.
 */
export interface TaskDefinition<Name extends string = string, In extends z.ZodType = z.ZodType, Out extends z.ZodType = z.ZodType> {
  readonly kind: 'task-definition';
  /** Stable dotted name; never reused for a different contract. */
  readonly name: Name;
  readonly description: string;
  readonly input: In;
  readonly output: Out;
  readonly defaultTimeoutMs: number;
  /** One line for tables: what a succeeded run's output says (e.g. "26.4.7 docker, ready"). */
  readonly summary: (output: z.output<Out>) => string;
}

export function defineTask<Name extends string, In extends z.ZodType, Out extends z.ZodType>(
  def: Omit<TaskDefinition<Name, In, Out>, 'kind'>,
): TaskDefinition<Name, In, Out> {
  return { kind: 'task-definition', ...def };
}

/** Whether a value is a declaration made by `defineTask` (the registry test scans modules with it). */
export function isTaskDefinition(value: unknown): value is TaskDefinition {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'task-definition';
}
