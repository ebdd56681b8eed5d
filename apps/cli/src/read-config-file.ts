import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';

/**
 * A YAML or JSON document from a file (`.json` is read as JSON, anything else as
 * YAML, of which JSON is a subset). Errors name the file and, for syntax, the line.
 */
export async function readConfigFile(path: string, what: string): Promise<unknown> {
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
  return doc;
}
