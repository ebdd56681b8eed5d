import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startPostgres, type PostgresServer } from '@keyfleet/test-harness';

/** The module as a fresh run of the agent loads it: what an agent restart after a crash is to it. */
async function agentRun() {
  vi.resetModules();
  return (await import('./scratch-databases.js')).scratchDatabases;
}

describe('scratch databases a drill interrupted by an agent crash left on the scratch Postgres (real Postgres)', () => {
  let postgres: PostgresServer;
  let admin: pg.Client;
  let stateDir: string;
  let server: string;

  beforeAll(async () => {
    [postgres, stateDir] = await Promise.all([startPostgres(), mkdtemp(join(tmpdir(), 'kf-scratch-dbs-'))]);
    admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    server = new URL(postgres.url).host;
  });

  afterAll(async () => {
    await admin?.end();
    await postgres?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  const databases = async () =>
    (await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'kf_drill_%' ORDER BY datname`)).rows.map((r) => r.datname);
  const drop = async (name: string) => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };

  it('the next drill drops those of a run that crashed, never one a drill of its own run still uses, nor those of another server', async () => {
    const crashed = await agentRun();
    await crashed.created(stateDir, server, 'kf_drill_aaaaaaaaaaaa');
    await admin.query('CREATE DATABASE kf_drill_aaaaaaaaaaaa');
    await crashed.created(stateDir, 'scratch.example:5432', 'kf_drill_cccccccccccc');
    // A crash between the listing and the CREATE: listed, never created.
    await crashed.created(stateDir, server, 'kf_drill_dddddddddddd');

    const restarted = await agentRun();
    await restarted.created(stateDir, server, 'kf_drill_bbbbbbbbbbbb');
    await admin.query('CREATE DATABASE kf_drill_bbbbbbbbbbbb');
    expect(await restarted.dropLeftovers(stateDir, server, drop)).toEqual(['kf_drill_aaaaaaaaaaaa', 'kf_drill_dddddddddddd']);
    expect(await databases()).toEqual(['kf_drill_bbbbbbbbbbbb']);

    await drop('kf_drill_bbbbbbbbbbbb');
    await restarted.dropped(stateDir, server, 'kf_drill_bbbbbbbbbbbb');
    const listed = JSON.parse(await readFile(restarted.path(stateDir), 'utf8')) as Array<{ server: string; name: string }>;
    expect(listed.map((e) => `${e.server} ${e.name}`)).toEqual(['scratch.example:5432 kf_drill_cccccccccccc']);
  });

  it('keeps one it could not drop listed, and never runs SQL for a name that is not a scratch database’s', async () => {
    const crashed = await agentRun();
    await crashed.created(stateDir, server, 'kf_drill_eeeeeeeeeeee');
    const path = crashed.path(stateDir);
    const listed = JSON.parse(await readFile(path, 'utf8')) as unknown[];
    await writeFile(path, JSON.stringify([...listed, { server, name: 'keyfleet; DROP TABLE x', run: 'crashed' }]));

    const restarted = await agentRun();
    const asked: string[] = [];
    const refused = async (name: string) => {
      asked.push(name);
      throw new Error('database is being accessed by other users');
    };
    expect(await restarted.dropLeftovers(stateDir, server, refused)).toEqual([]);
    expect(asked).toEqual(['kf_drill_eeeeeeeeeeee']);
    expect(await restarted.dropLeftovers(stateDir, server, drop)).toEqual(['kf_drill_eeeeeeeeeeee']);
  });
});
