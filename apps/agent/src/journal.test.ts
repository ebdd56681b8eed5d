import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@keyfleet/log';
import { Journal, type JournaledTask } from './journal.js';

let logged: string[] = [];
const log = createLogger('test', {
  level: 'warn',
  destination: new Writable({
    write: (c, _e, cb) => {
      logged.push(String(c));
      cb();
    },
  }),
});
const errorsLogged = () => logged.filter((l) => JSON.parse(l).level >= 50);
const task = (taskId: string): JournaledTask => ({
  taskId,
  type: 'noop',
  params: { delayMs: 0 },
  timeoutMs: 1000,
  expiresAt: new Date(Date.now() + 60_000).toISOString(),
});
const succeeded = { outcome: 'succeeded' as const, output: { delayedMs: 0, payload: 'big output' }, finishedAt: new Date().toISOString() };

describe('Journal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-journal-'));
    logged = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one complete file per task and leaves no temp file behind', async () => {
    const j = await Journal.open(dir, log);
    await j.accept(task('t-one'));
    await j.markStarted('t-one', new Date().toISOString());
    expect(await readdir(dir)).toEqual(['t-one.json']);
    const onDisk = JSON.parse(await readFile(join(dir, 't-one.json'), 'utf8'));
    expect(onDisk).toMatchObject({ taskId: 't-one', state: 'started', params: { delayMs: 0 } });
  });

  it('ignores a torn write from a crash: the previous version stays authoritative', async () => {
    const j = await Journal.open(dir, log);
    await j.accept(task('t-torn'));
    // What a crash between write and rename leaves: a partial temp file next to the old one.
    await writeFile(join(dir, 't-torn.json.tmp'), '{"taskId":"t-torn","state":"fini');
    const reopened = await Journal.open(dir, log);
    expect(reopened.state('t-torn')).toBe('accepted');
    expect(await readdir(dir)).toEqual(['t-torn.json']);
  });

  it('never accepts the same task id twice, even when deliveries race or after a restart', async () => {
    const j = await Journal.open(dir, log);
    const raced = await Promise.all([j.accept(task('t-dup')), j.accept(task('t-dup')), j.accept(task('t-dup'))]);
    expect(raced.filter(Boolean)).toHaveLength(1);
    await j.markStarted('t-dup', new Date().toISOString());
    await j.markFinished('t-dup', succeeded);
    await j.markAcked('t-dup');
    const reopened = await Journal.open(dir, log);
    expect(await reopened.accept(task('t-dup'))).toBe(false);
    expect(reopened.state('t-dup')).toBe('acked');
    expect(errorsLogged()).toEqual([]);
  });

  it('on restart reports started tasks as interrupted, re-runs accepted ones and re-sends unacked results', async () => {
    const j = await Journal.open(dir, log);
    for (const id of ['t-accepted', 't-started', 't-finished', 't-acked']) await j.accept(task(id));
    await j.markStarted('t-started', '2030-01-01T00:00:00.000Z');
    await j.markStarted('t-finished', new Date().toISOString());
    await j.markFinished('t-finished', succeeded);
    await j.markStarted('t-acked', new Date().toISOString());
    await j.markFinished('t-acked', succeeded);
    await j.markAcked('t-acked');

    const reopened = await Journal.open(dir, log);
    const { run, resend } = await reopened.recover();
    expect(run.map((t) => t.taskId)).toEqual(['t-accepted']);
    const byId = Object.fromEntries(resend.map((r) => [r.taskId, r.result]));
    expect(Object.keys(byId).sort()).toEqual(['t-finished', 't-started']);
    expect(byId['t-started']).toMatchObject({
      outcome: 'failed',
      error: { code: 'interrupted', message: 'agent restarted while the task was running' },
      startedAt: '2030-01-01T00:00:00.000Z',
    });
    expect(byId['t-finished']).toEqual(succeeded);
    // The interrupted verdict is durable: a second restart does not invent a new one.
    const again = await (await Journal.open(dir, log)).recover();
    expect(again.resend.find((r) => r.taskId === 't-started')?.result).toEqual(byId['t-started']);
    expect(errorsLogged()).toEqual([]);
  });

  it('drops the output from disk once acked, and prunes old acked entries', async () => {
    const j = await Journal.open(dir, log);
    await j.accept(task('t-old'));
    await j.markFinished('t-old', succeeded);
    await j.markAcked('t-old');
    await j.accept(task('t-open'));
    expect(await readFile(join(dir, 't-old.json'), 'utf8')).not.toContain('big output');

    const week = 7 * 24 * 3600_000;
    expect(await j.prune(week)).toBe(0);
    expect(await j.prune(week, Date.now() + week + 60_000)).toBe(1);
    expect(await readdir(dir)).toEqual(['t-open.json']);
    expect(j.state('t-old')).toBeUndefined();
    expect(j.state('t-open')).toBe('accepted');
  });

  it('treats an unreadable entry as already seen so it can never run twice', async () => {
    await writeFile(join(dir, 't-bad.json'), 'not json');
    const j = await Journal.open(dir, log);
    expect(await j.accept(task('t-bad'))).toBe(false);
    expect((await j.recover()).run).toEqual([]);
    expect(errorsLogged().join('')).toContain('unreadable journal entry');
  });

  it('keeps secret values off the disk; a task holding them that had not started fails as interrupted after a restart', async () => {
    const identity = 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ';
    const j = await Journal.open(dir, log);
    const withSecret: JournaledTask = {
      ...task('t-secret'),
      type: 'backup.drill',
      params: { backupId: 'b1', identity: { $secret: 'drill-key', value: identity }, nested: [{ password: { $secret: 'p', value: 'hunter2' } }] },
    };
    await j.accept(withSecret);
    const onDisk = await readFile(join(dir, 't-secret.json'), 'utf8');
    expect(onDisk).not.toContain(identity);
    expect(onDisk).not.toContain('hunter2');
    expect(JSON.parse(onDisk)).toMatchObject({
      params: { backupId: 'b1', identity: { $secret: 'drill-key' }, nested: [{ password: { $secret: 'p' } }] },
      secretsWithheld: true,
    });
    // In memory the running task still has its values.
    expect(j.get('t-secret')?.params).toEqual(withSecret.params);

    const { run, resend } = await (await Journal.open(dir, log)).recover();
    expect(run).toEqual([]);
    expect(resend).toEqual([
      { taskId: 't-secret', result: expect.objectContaining({ outcome: 'failed', error: expect.objectContaining({ code: 'interrupted' }) }) },
    ]);
    expect(await readFile(join(dir, 't-secret.json'), 'utf8')).not.toContain(identity);
  });
});
