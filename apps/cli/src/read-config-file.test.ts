import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realmSpec } from '@keyfleet/proto/v1';
import { readConfigFile } from './read-config-file.js';

describe('readConfigFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-cli-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  it('reads YAML and JSON into the same object', async () => {
    const yaml = await file('spec.yaml', 'realm: demo\nclients:\n  - clientId: web\n    secret: { $secret: web-secret }\n');
    const json = await file('spec.json', JSON.stringify({ realm: 'demo', clients: [{ clientId: 'web', secret: { $secret: 'web-secret' } }] }));
    expect(await readConfigFile(yaml, 'realm spec', realmSpec)).toEqual(await readConfigFile(json, 'realm spec', realmSpec));
  });

  it('names the file and the problem', async () => {
    await expect(readConfigFile(join(dir, 'missing.yaml'), 'realm spec', realmSpec)).rejects.toThrow(
      `cannot read realm spec ${join(dir, 'missing.yaml')}: ENOENT`,
    );
    const bad = await file('bad.yaml', 'realm: demo\n  clients: [\n');
    await expect(readConfigFile(bad, 'realm spec', realmSpec)).rejects.toThrow(`realm spec ${bad} is not valid YAML: `);
    const badJson = await file('bad.json', '{"realm":');
    await expect(readConfigFile(badJson, 'Keycloak config', realmSpec)).rejects.toThrow(`Keycloak config ${badJson} is not valid JSON: `);
    const list = await file('list.yaml', '- a\n- b\n');
    await expect(readConfigFile(list, 'realm spec', realmSpec)).rejects.toThrow(`realm spec ${list} must hold an object (key: value pairs)`);
    const wrong = await file('wrong.yaml', 'realm: demo\nclients: [{ clientId: web, redirectUris: [1] }]\n');
    await expect(readConfigFile(wrong, 'realm spec', realmSpec)).rejects.toThrow(`realm spec ${wrong} is not valid: clients.0.redirectUris.0: `);
  });
});
