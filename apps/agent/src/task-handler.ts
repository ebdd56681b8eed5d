import type { z } from 'zod';
import type { Logger } from '@keyfleet/log';
import type { taskDefinitions, TaskName } from '@keyfleet/proto/v1';

export interface TaskContext {
  /** Aborted on cancel, timeout or agent shutdown; handlers must stop promptly. */
  signal: AbortSignal;
  /** `transfer`: bytes moved so far (and of how many, when known) by a task that streams data. */
  progress(percent?: number, message?: string, transfer?: TaskTransfer): void;
  log: Logger;
  /** The agent's state directory (0700); handlers keep their host-local state below it. */
  stateDir: string;
  /** Facts about the agent process running the task (for diagnostics and reports). */
  agent: AgentFacts;
}

export interface TaskTransfer {
  bytes: number;
  totalBytes?: number;
}

export interface AgentFacts {
  hostId: string;
  version: string;
  /** When this agent process started (ISO 8601). */
  startedAt: string;
  /** Round trip to the NATS server now; undefined while disconnected. */
  natsRttMs(): Promise<number | undefined>;
  /** Task ids the journal holds and the bytes its files take. */
  journalStats(): Promise<{ entries: number; bytes: number }>;
}

/** Runs one task type: gets the input as its declaration parsed it, returns what its output schema accepts. */
export type TaskHandler<K extends TaskName> = (
  input: z.output<(typeof taskDefinitions)[K]['input']>,
  ctx: TaskContext,
) => Promise<z.input<(typeof taskDefinitions)[K]['output']>>;

/** One handler per declared task type: a type declared in proto without a handler here fails the type check. */
export type Handlers = { [K in TaskName]: TaskHandler<K> };
