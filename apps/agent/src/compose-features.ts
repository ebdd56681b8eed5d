import type { TaskName } from '@keyfleet/proto/v1';
import type { AgentFeature, FeatureService } from './agent-feature.js';
import type { Command } from 'commander';
import type { Handlers } from './task-handler.js';

/** Everything the agent runs: one handler per declared task type, the services and subcommands of all features. */
export interface FeatureSet {
  readonly handlers: Handlers;
  readonly services: readonly FeatureService[];
  readonly commands: readonly ((program: Command) => void)[];
}

type TaskNamesOf<F> = F extends AgentFeature<infer K> ? K : never;

/** Task names handled by more than one feature of the tuple `F`. */
type Duplicated<F extends readonly unknown[], Seen extends string = never> = F extends readonly [infer Head, ...infer Rest]
  ? (TaskNamesOf<Head> & Seen) | Duplicated<Rest, Seen | TaskNamesOf<Head>>
  : never;

type Missing<F extends readonly unknown[]> = Exclude<TaskName, TaskNamesOf<F[number]>>;

/**
 * Type-level checks on the composed features, reported as a property the argument lacks,
 * which names the offending task types in the compiler's message.
 */
type Checked<F extends readonly unknown[]> = ([Missing<F>] extends [never] ? unknown : { 'task types without a handler': Missing<F> }) &
  ([Duplicated<F>] extends [never] ? unknown : { 'task types with two handlers': Duplicated<F> });

/**
 * Composes features into what the agent runs. A task type declared in proto that no feature
 * handles, or one that two features handle, is a type error here; the duplicate is also
 * refused at run time (e.g. features built from arrays the compiler cannot see through).
 */
export function composeFeatures<const F extends readonly AgentFeature<never>[]>(features: F & Checked<F>): FeatureSet {
  const handlers: Record<string, unknown> = {};
  const owner = new Map<string, string>();
  for (const feature of features) {
    for (const [type, handler] of Object.entries(feature.handlers)) {
      const first = owner.get(type);
      if (first) throw new Error(`task type "${type}" has two handlers: in feature "${first}" and in feature "${feature.name}"`);
      owner.set(type, feature.name);
      handlers[type] = handler;
    }
  }
  return {
    handlers: handlers as Handlers,
    services: features.flatMap((f) => f.services ?? []),
    commands: features.flatMap((f) => (f.commands ? [f.commands] : [])),
  };
}
