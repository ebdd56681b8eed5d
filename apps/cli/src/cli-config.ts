import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface CliConfig {
  hub: string;
  token: string | undefined;
}

interface ConfigFile {
  hub?: string;
  token?: string;
}

async function readConfigFile(path: string): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as ConfigFile;
  } catch (err) {
    throw new Error(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Resolves hub URL and token, first match wins per field: flags, then KEYFLEET_HUB /
 * KEYFLEET_TOKEN, then the demo's `.keyfleet/cli.json` of the checkout the `./keyfleet`
 * wrapper runs from, then ~/.config/keyfleet/config.json.
 */
export async function resolveCliConfig(flags: { hub?: string; token?: string }, env = process.env): Promise<CliConfig> {
  const files: ConfigFile[] = [];
  if (env.KEYFLEET_REPO_DIR) {
    const demo = await readConfigFile(join(env.KEYFLEET_REPO_DIR, '.keyfleet', 'cli.json'));
    if (demo) files.push(demo);
  }
  const user = await readConfigFile(join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'keyfleet', 'config.json'));
  if (user) files.push(user);
  const hub = flags.hub ?? env.KEYFLEET_HUB ?? files.find((f) => f.hub)?.hub ?? 'http://127.0.0.1:7420';
  const token = flags.token ?? env.KEYFLEET_TOKEN ?? files.find((f) => f.token)?.token;
  return { hub: hub.replace(/\/+$/, ''), token };
}
