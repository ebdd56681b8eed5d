import type { z } from 'zod';

/** One declaration per task type; it drives hub validation, the agent registry and the CLI. */
export interface TaskDefinition<Name extends string = string, In extends z.ZodType = z.ZodType, Out extends z.ZodType = z.ZodType> {
  /** Stable dotted name; never reused for a different contract. */
  name: Name;
  description: string;
  input: In;
  output: Out;
  defaultTimeoutMs: number;
  /** Whether running the task twice is harmless, so an interrupted run may be retried. */
  retrySafe: boolean;
}

export function defineTask<Name extends string, In extends z.ZodType, Out extends z.ZodType>(
  def: TaskDefinition<Name, In, Out>,
): TaskDefinition<Name, In, Out> {
  return def;
}
