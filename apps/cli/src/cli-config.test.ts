import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveCliConfig } from './cli-config.js';

async function setup() {
  const repo = await mkdtemp(join(tmpdir(), 'kf-cli-'));
  const xdg = await mkdtemp(join(tmpdir(), 'kf-xdg-'));
  await mkdir(join(repo, '.keyfleet'));
  await mkdir(join(xdg, 'keyfleet'));
  await writeFile(join(repo, '.keyfleet', 'cli.json'), JSON.stringify({ hub: 'http://demo:7420/', token: 'kf_demo' }));
  await writeFile(join(xdg, 'keyfleet', 'config.json'), JSON.stringify({ hub: 'http://user:7420', token: 'kf_user' }));
  return { repo, xdg };
}

describe('resolveCliConfig', () => {
  it('prefers flags, then env, then the checkout, then the user config', async () => {
    const { repo, xdg } = await setup();
    const env = { KEYFLEET_REPO_DIR: repo, XDG_CONFIG_HOME: xdg };
    expect(await resolveCliConfig({}, env)).toEqual({ hub: 'http://demo:7420', token: 'kf_demo' });
    expect(await resolveCliConfig({}, { ...env, KEYFLEET_TOKEN: 'kf_env' })).toEqual({ hub: 'http://demo:7420', token: 'kf_env' });
    expect(await resolveCliConfig({ hub: 'http://flag:1', token: 'kf_flag' }, env)).toEqual({ hub: 'http://flag:1', token: 'kf_flag' });
    expect(await resolveCliConfig({}, { XDG_CONFIG_HOME: xdg })).toEqual({ hub: 'http://user:7420', token: 'kf_user' });
  });

  it('names the file when it is not JSON', async () => {
    const { xdg } = await setup();
    await writeFile(join(xdg, 'keyfleet', 'config.json'), '{oops');
    await expect(resolveCliConfig({}, { XDG_CONFIG_HOME: xdg })).rejects.toThrow(/config\.json is not valid JSON/);
  });
});
