import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AgentProcess, type BackupsRoutes, expectStatus, type Fleet, repoRoot, startFleet } from '@keyfleet/test-harness';
import { runCli } from './run-cli.js';
import { writeStoppedKeycloakRecord } from './stopped-keycloak-record.js';

const run = promisify(execFile);

/**
 * A schedule firing real backups on a real agent through the hub process: a one-shot cron (a
 * second a few seconds ahead, with seconds in the expression) so the test waits seconds, not a
 * cron minute. The database is the fleet's Postgres shaped like Keycloak's (the tables backups
 * read); backups.test.ts covers a real Keycloak, the firing rules are proven in the hub's suite.
 */
describe('backup schedules on a real fleet', () => {
  const started = Date.now();
  let fleet: Fleet;
  let agent: AgentProcess;
  let work: string;
  let keyFile: string;
  const cli = (...args: string[]) => runCli(repoRoot, fleet.hub.url, fleet.hub.adminToken, ...args);
  const schedules = () => fleet.api.routes<BackupsRoutes>('/v1')['backup-schedules'];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kf-schedules-e2e-'));
    fleet = await startFleet({ hubEnv: { KEYFLEET_BACKUP_DIR: join(work, 'store'), KEYFLEET_BACKUP_SCHEDULE_TICK_MS: '500' } });
    const psql = (url: string, query: string) => run('psql', ['-At', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', query]);
    await psql(fleet.pg.url, 'CREATE DATABASE kc');
    const kcUrl = new URL(fleet.pg.url);
    kcUrl.pathname = '/kc';
    await psql(
      kcUrl.toString(),
      `CREATE TABLE realm (id text PRIMARY KEY, name text);
       CREATE TABLE user_entity (id text PRIMARY KEY, realm_id text, username text);
       CREATE TABLE client (id text PRIMARY KEY, realm_id text);
       CREATE TABLE keycloak_group (id text PRIMARY KEY, realm_id text);
       CREATE TABLE component (id text PRIMARY KEY, realm_id text, provider_type text, provider_id text);
       CREATE TABLE component_config (id text PRIMARY KEY, component_id text, name text, value text);
       INSERT INTO realm VALUES ('r1', 'shop');
       INSERT INTO user_entity SELECT 'u' || g, 'r1', 'user' || g FROM generate_series(1, 20) g;`,
    );
    agent = await fleet.addAgent({ labels: { role: 'keycloak' }, heartbeatIntervalMs: 2_000 });
    await writeStoppedKeycloakRecord(agent.stateDir, { host: kcUrl.host, database: 'kc', username: kcUrl.username });
    keyFile = join(work, 'key.txt');
    await run('age-keygen', ['-o', keyFile]);
    const recipient = /public key: (age1\S+)/.exec(await readFile(keyFile, 'utf8'))![1]!;
    await expectStatus(fleet.api.routes<BackupsRoutes>('/v1')['backup-keys'].$post({ json: { name: 'dr', recipient } }), 201);
  }, 5 * 60_000);

  afterAll(async () => {
    await fleet?.stop();
    if (work) await rm(work, { recursive: true, force: true });
    console.log(`[backup-schedules] file took ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }, 120_000);

  it('fires at its cron time once: the host is backed up and the run’s outcome shows in the CLI; pause, resume, delete', async () => {
    // A second far enough ahead for the CLI to start even on a loaded machine (8 s was not); as a
    // yearly cron it fires once in this test.
    const at = new Date(Math.ceil((Date.now() + 15_000) / 1000) * 1000);
    const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`;
    const created = await cli(
      'schedules',
      'create',
      'e2e-once',
      '--cron',
      cron,
      '--selector',
      'role=keycloak',
      '--window-seconds',
      '0',
      '--keep-last',
      '3',
      '-o',
      'json',
    );
    expect(created.status, created.stderr).toBe(0);
    const { id, nextFireAt } = JSON.parse(created.stdout);
    expect(nextFireAt, 'the cron time was still ahead when the schedule was created').toBe(at.toISOString());

    const shown = await vi.waitFor(
      async () => {
        const s = await expectStatus(schedules()[':id'].$get({ param: { id } }), 200);
        expect(s.lastRun?.settledAt, JSON.stringify(s.lastRunUnits)).toBeTruthy();
        return s;
      },
      { timeout: 120_000, interval: 500 },
    );
    console.log(`[backup-schedules] fired ${shown.lastRun!.firedAt} for ${shown.lastRun!.fireTime}, settled ${shown.lastRun!.settledAt}`);
    expect(shown.runs).toHaveLength(1);
    expect(shown.lastRun).toMatchObject({ fireTime: at.toISOString(), units: 1, counts: { succeeded: 1, failed: 0, missed: 0 } });
    const [unit] = shown.lastRunUnits;
    expect(unit).toMatchObject({ hostId: agent.hostId, state: 'succeeded', error: null });
    const backup = await expectStatus(fleet.api.routes<BackupsRoutes>('/v1').backups[':id'].$get({ param: { id: unit!.backupId! } }), 200);
    expect(backup).toMatchObject({ scheduleId: id, hostId: agent.hostId, state: 'stored' });

    const listed = await cli('schedules', 'list');
    expect(listed.stdout).toMatch(/e2e-once\s+backup\s+.*role=keycloak\s+active\s+\S+\s+\S+\s+1 ok/);
    const show = await cli('schedules', 'show', 'e2e-once');
    expect(show.stdout).toMatch(new RegExp(`${agent.hostId}\\s+succeeded`));
    expect(show.stdout).toMatch(/retention:\s+keep-last 3/);

    const paused = await cli('schedules', 'pause', 'e2e-once');
    expect(paused.stdout).toMatch(/state:\s+paused/);
    const resumed = await cli('schedules', 'resume', id);
    expect(resumed.stdout).toMatch(/state:\s+active/);
    const deleted = await cli('schedules', 'delete', 'e2e-once');
    expect(deleted.stdout).toBe(`deleted schedule e2e-once (${id})\n`);
    // Its backup stays in the catalog.
    expect((await expectStatus(fleet.api.routes<BackupsRoutes>('/v1').backups[':id'].$get({ param: { id: backup.id } }), 200)).state).toBe('stored');
  }, 180_000);

  it('backs the hub’s own database up and drills it on the hub through the CLI; /metrics says so for host hub', async () => {
    const t0 = Date.now();
    const made = await cli('backups', 'run', '--hub-db', '-o', 'json');
    expect(made.status, made.stderr).toBe(0);
    const backup = JSON.parse(made.stdout) as { id: string; hostId: string; state: string };
    expect(backup).toMatchObject({ hostId: 'hub', state: 'stored' });
    const t1 = Date.now();
    const drilled = await cli('backups', 'drill-hub', backup.id, '--identity-file', keyFile, '--scratch-url', fleet.pg.url, '-o', 'json');
    expect(drilled.status, drilled.stderr).toBe(0);
    expect(JSON.parse(drilled.stdout)).toMatchObject({ ok: true });
    console.log(`[backup-schedules] hub backup ${t1 - t0} ms, drill ${Date.now() - t1} ms (CLI included)`);
    const listed = await cli('backups', 'list', '--host', 'hub', '-o', 'json');
    expect(JSON.parse(listed.stdout).items.map((b: { id: string; state: string }) => [b.id, b.state])).toEqual([[backup.id, 'verified']]);
    const metrics = await (await fetch(`${fleet.hub.url}/metrics`)).text();
    expect(metrics).toMatch(/^keyfleet_backup_last_verified_timestamp\{host="hub"\} \d+/m);
  });
});
