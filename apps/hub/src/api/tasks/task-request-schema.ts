import { z } from '@hono/zod-openapi';
import { type TaskDefinition, type TaskDefinitions, type TaskName, taskDefinitionList } from '@keyfleet/proto/v1';
import { SelectorSchema } from '../selector-schema.js';

const DAY_MS = 24 * 3600 * 1000;

export const TargetSchema = z
  .union([
    z.object({ hostId: z.string().min(1).max(64) }).strict(),
    z.object({ selector: SelectorSchema }).strict(),
    z.object({ all: z.literal(true) }).strict(),
  ])
  .openapi('TaskTarget');

function requestFor<D extends TaskDefinition>(def: D) {
  return z
    .object({
      type: z.literal(def.name as D['name']),
      target: TargetSchema,
      params: (def.input as D['input']).optional().openapi({ description: `input of ${def.name}; absent means {}` }),
      timeoutMs: z
        .number()
        .int()
        .min(1)
        .max(DAY_MS)
        .optional()
        .openapi({ description: `default: ${def.defaultTimeoutMs} ms` }),
      expiresInMs: z
        .number()
        .int()
        .min(1000)
        .max(30 * DAY_MS)
        .default(3600 * 1000)
        .openapi({ description: 'how long a task may wait for an offline host before it expires' }),
    })
    .strict()
    .openapi(`TaskRequest_${def.name.replaceAll('.', '_')}`, { description: def.description });
}

type RequestSchemas = { [K in TaskName]: ReturnType<typeof requestFor<TaskDefinitions[K]>> }[TaskName];

/**
 * `POST /v1/tasks`: one member per declared task type, discriminated on `type`,
 * each with that type's input schema as `params` — so the OpenAPI document and the
 * typed client know every task's parameters.
 */
export const TaskRequestSchema = z
  .discriminatedUnion('type', taskDefinitionList.map(requestFor) as unknown as [RequestSchemas, ...RequestSchemas[]])
  .openapi('TaskRequest');

export type TaskRequest = z.input<typeof TaskRequestSchema>;
