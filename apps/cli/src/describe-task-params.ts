import type { TaskDefinition } from '@keyfleet/proto/v1';
import { inputProperties } from './input-properties.js';

/** The `--param` section of a task type's help: each parameter with its type, default and description. */
export function describeTaskParams(def: TaskDefinition): string {
  const props = inputProperties(def);
  if (props.length === 0) return 'Parameters: none';
  const rows = props.map((p) => {
    const type = p.enum ? p.enum.map(String).join('|') : p.types.join('|') || 'json';
    const notes = [p.required ? 'required' : undefined, p.default === undefined ? undefined : `default ${JSON.stringify(p.default)}`].filter(Boolean);
    return [`${p.name}=<${type}>`, [notes.length ? `(${notes.join(', ')})` : '', p.description ?? ''].filter(Boolean).join(' ')];
  });
  const width = Math.max(...rows.map(([l]) => l!.length));
  return ['Parameters (--param key=value; objects and arrays as JSON):', ...rows.map(([l, r]) => `  ${l!.padEnd(width)}  ${r}`.trimEnd())].join('\n');
}
