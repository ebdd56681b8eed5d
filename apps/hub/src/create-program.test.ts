import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keycloakFeature } from './features/keycloak/index.js';
import { createProgram } from './create-program.js';
import { createDb } from './store/create-db.js';
import { freshClusterSnapshot } from './testing/fresh-cluster-snapshot.js';

describe('keyfleet-hub command line', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-hub-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const lines: string[] = [];
    const program = createProgram({ env, out: (l) => lines.push(l) }).exitOverride();
    await program.parseAsync(args, { from: 'user' });
    return lines;
  };

  it('migrate status lists each migration as pending, then applied after migrate up', async () => {
    const dataDir = join(dir, 'db');
    await (await createDb({ dataDir, snapshot: await freshClusterSnapshot() })).close();
    const env = { KEYFLEET_DATA_DIR: dataDir };
    // Features add migrations; the command must list the core's and every feature's, in name order.
    const pending = await run(['migrate', 'status'], env);
    const names = pending.map((l) => l.replace(/\tpending$/, ''));
    expect(pending).toEqual(names.map((n) => `${n}\tpending`));
    expect(names).toEqual(expect.arrayContaining(['0001-initial', '0002-secrets', ...Object.keys(keycloakFeature.migrations ?? {})]));
    expect(names).toEqual(names.toSorted());
    expect(await run(['migrate', 'up'], env)).toEqual([names.map((n) => `applied ${n}`).join('\n')]);
    expect(await run(['migrate', 'up'], env)).toEqual(['database is up to date']);
    const [line] = await run(['migrate', 'status'], env);
    expect(line).toMatch(/^0001-initial\tapplied \d{4}-\d\d-\d\dT/);
    await expect(run(['migrate', 'down'], env)).rejects.toThrow('unknown migrate action "down"; use "up" or "status"');
  });

  it('nats-init writes the authority and refuses a non-empty dir unless forced', async () => {
    const natsDir = join(dir, 'nats');
    const lines = await run(['nats-init', '--dir', natsDir]);
    expect(lines.join('\n')).toContain(join(natsDir, 'auth.conf'));
    const keys = await readFile(join(natsDir, 'keys.json'), 'utf8');
    expect((await stat(join(natsDir, 'keys.json'))).mode & 0o777).toBe(0o600);

    await expect(run(['nats-init', '--dir', natsDir])).rejects.toThrow(/is not empty; refusing to replace NATS keys/);
    expect(await readFile(join(natsDir, 'keys.json'), 'utf8')).toBe(keys);
    await run(['nats-init', '--dir', natsDir, '--force']);
    expect(await readFile(join(natsDir, 'keys.json'), 'utf8')).not.toBe(keys);

    const other = join(dir, 'other');
    await mkdir(other);
    await writeFile(join(other, 'unrelated'), 'x');
    await expect(run(['nats-init', '--dir', other])).rejects.toThrow(/not empty/);
  });

  it('nats-init --upgrade rewrites auth.conf for the full resolver and keeps the keys', async () => {
    const natsDir = join(dir, 'nats-upgrade');
    const resolverDir = join(dir, 'resolver');
    await expect(run(['nats-init', '--dir', natsDir, '--upgrade'])).rejects.toThrow(/no keys.json to upgrade/);
    await run(['nats-init', '--dir', natsDir]);
    const keys = JSON.parse(await readFile(join(natsDir, 'keys.json'), 'utf8'));
    const hubCreds = await readFile(join(natsDir, 'hub.creds'), 'utf8');

    const lines = await run(['nats-init', '--dir', natsDir, '--upgrade', '--resolver-dir', resolverDir]);
    expect(lines.join('\n')).toContain(resolverDir);
    expect(await readFile(join(natsDir, 'auth.conf'), 'utf8')).toContain(`dir: ${JSON.stringify(resolverDir)}`);
    expect((await stat(resolverDir)).isDirectory()).toBe(true);
    expect(JSON.parse(await readFile(join(natsDir, 'keys.json'), 'utf8'))).toEqual(keys);
    expect(await readFile(join(natsDir, 'hub.creds'), 'utf8')).toBe(hubCreds);
  });

  it('serve explains a missing NATS authority, and one that cannot revoke', async () => {
    await expect(run(['serve'], {})).rejects.toThrow(/no NATS authority: set KEYFLEET_NATS_AUTH_DIR/);
    const env = { KEYFLEET_NATS_ACCOUNT: 'A', KEYFLEET_NATS_SIGNING_SEED: 'SA' };
    await expect(run(['serve'], env)).rejects.toThrow(/also need KEYFLEET_NATS_OPERATOR_SIGNING_SEED .* and KEYFLEET_NATS_REVOCATION_CREDS/);
  });
});
