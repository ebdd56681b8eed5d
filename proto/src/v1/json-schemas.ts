import { z } from 'zod';
import { messages } from './envelope.js';
import { taskEvent, taskStreamEnd } from './task-event.js';
import { taskDefinitionList } from './tasks/index.js';

/**
 * The JSON Schema documents generated from the zod declarations, keyed by their
 * path under `proto/schema/v1/`. Non-TypeScript peers (and reviewers) read these;
 * a test fails when the checked-in copies are stale.
 */
export function jsonSchemas(): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [name, schema] of Object.entries(messages)) {
    out.set(`messages/${name}.json`, z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }));
  }
  out.set('api/taskEvent.json', z.toJSONSchema(taskEvent, { io: 'output', unrepresentable: 'any' }));
  out.set('api/taskStreamEnd.json', z.toJSONSchema(taskStreamEnd, { io: 'output', unrepresentable: 'any' }));
  for (const def of taskDefinitionList) {
    const meta = { description: def.description, defaultTimeoutMs: def.defaultTimeoutMs };
    out.set(`tasks/${def.name}.json`, {
      name: def.name,
      ...meta,
      input: z.toJSONSchema(def.input, { io: 'input', unrepresentable: 'any' }),
      output: z.toJSONSchema(def.output, { io: 'output', unrepresentable: 'any' }),
    });
  }
  return out;
}
