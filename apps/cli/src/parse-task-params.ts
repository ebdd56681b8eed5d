import type { TaskDefinition } from '@keyfleet/proto/v1';
import { inputProperties } from './input-properties.js';

/**
 * `--param key=value` pairs into a task's input, each value converted by the type
 * its declaration gives that key: `delayMs=500` is a number because delayMs is an
 * integer, `fail=500` stays the string "500" because fail is a string. Objects and
 * arrays are JSON. Unknown keys and values that cannot be the declared type are
 * refused here, naming the key, before anything reaches the hub.
 */
export function parseTaskParams(def: TaskDefinition, pairs: string[]): Record<string, unknown> {
  const props = new Map(inputProperties(def).map((p) => [p.name, p]));
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`bad --param "${pair}": expected key=value`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    const prop = props.get(key);
    if (!prop) {
      const known = [...props.keys()];
      throw new Error(`${def.name} has no parameter "${key}"; ${known.length ? `its parameters: ${known.join(', ')}` : 'it takes none'}`);
    }
    params[key] = convert(def.name, key, raw, prop.types);
  }
  return params;
}

function convert(task: string, key: string, raw: string, types: string[]): unknown {
  const bad = (what: string) => new Error(`bad --param ${key}=${raw} for ${task}: expected ${what}`);
  if (types.length === 1 && types[0] === 'string') return raw;
  if (types.length === 1 && (types[0] === 'integer' || types[0] === 'number')) {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || (types[0] === 'integer' && !Number.isInteger(n))) throw bad(`an ${types[0]}`);
    return n;
  }
  if (types.length === 1 && types[0] === 'boolean') {
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw bad('true or false');
  }
  try {
    return JSON.parse(raw);
  } catch {
    // A string is one of the allowed types (or nothing says otherwise): keep it as written.
    if (types.length === 0 || types.includes('string')) return raw;
    throw bad(`JSON (${types.join(' or ')})`);
  }
}
