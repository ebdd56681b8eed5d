import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { z } from 'zod';

/**
 * A YAML or JSON document from a file (`.json` is read as JSON, anything else as
 * YAML, of which JSON is a subset), checked against the schema the hub and agent
 * will check it with, so a mistake is named here with its path. Errors name the
 * file and, for syntax, the line. Returns the document as written (the hub parses it).
 */
export async function readConfigFile<S extends z.ZodType>(path: string, what: string, schema: S): Promise<z.input<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = path.endsWith('.json') ? JSON.parse(text) : parse(text, { prettyErrors: true });
  } catch (err) {
    throw new Error(`${what} ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`${what} ${path} must hold an object (key: value pairs)`);
  const checked = schema.safeParse(doc);
  if (!checked.success) {
    const issues = checked.error.issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${what} ${path} is not valid: ${issues.join('; ')}`);
  }
  return doc as z.input<S>;
}
