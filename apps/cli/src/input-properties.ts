import type { TaskDefinition } from '@keyfleet/proto/v1';
import { z } from 'zod';

/** One parameter of a task's input, as its JSON Schema describes it. */
export interface InputProperty {
  name: string;
  /** JSON Schema type(s), e.g. `integer`, `string`, `object`; empty when the schema does not say one. */
  types: string[];
  required: boolean;
  default?: unknown;
  description?: string;
  enum?: unknown[];
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  description?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
};

function typesOf(s: JsonSchema): string[] {
  if (s.type) return Array.isArray(s.type) ? s.type : [s.type];
  if (s.const !== undefined) return [typeof s.const];
  const members = s.anyOf ?? s.oneOf;
  return members ? [...new Set(members.flatMap(typesOf))] : [];
}

/** The top-level parameters of a task's input, from the same zod schema the hub and agent validate with. */
export function inputProperties(def: TaskDefinition): InputProperty[] {
  const schema = z.toJSONSchema(def.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, p]) => ({
    name,
    types: typesOf(p),
    required: required.has(name),
    ...(p.default === undefined ? {} : { default: p.default }),
    ...(p.description === undefined ? {} : { description: p.description }),
    ...(p.enum === undefined ? {} : { enum: p.enum }),
  }));
}
