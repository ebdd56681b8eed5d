import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@keyfleet/log';
import type { Insertable, Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../store/database.js';
import { createTestContext, type TestContext } from '../../../testing/test-context.js';
import { testBackends } from '../../../testing/test-database.js';
import { type BackupSchedulesTable, type BackupsTable, backupsDb } from '../backups-tables.js';
import { pruneBackups } from '../prune-backups.js';
import { LocalDirStorage } from '../storage/local-dir-storage.js';
import { scheduleTick } from './schedule-tick.js';
import { settleScheduleRuns } from './settle-schedule-runs.js';
import { spreadOffset } from './spread-offset.js';

const T0 = new Date('2026-06-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const H = 3600_000;

describe.each(testBackends)('backup schedules firing (%s)', (backend) => {
  let t: TestContext;
  let dir: string;
  /** A second hub: its own connection to the same database. */
  let other: Kysely<Database>;
  const log = createLogger('schedule-test', { level: 'silent' });

  const hub = (db: Kysely<Database>) => ({ db, secrets: t.secrets, dispatcher: t.dispatcher, storage: async () => new LocalDirStorage(dir), log });
  const tick = (now: Date, db: Kysely<Database> = t.db) => scheduleTick(hub(db), now);
  const db = () => backupsDb(t.db);
  const hosts = (suite: string, statuses: Array<'online' | 'offline'>) =>
    Promise.all(statuses.map((status, i) => t.addHost({ hostname: `${suite}-${i}`, labels: { suite }, status })));
  const schedule = async (name: string, values: Partial<Insertable<BackupSchedulesTable>> = {}) => {
    await db()
      .insertInto('backup_schedules')
      .values({
        id: `bs_${name}`,
        name,
        kind: 'backup',
        cron: '0 2 * * *',
        timezone: 'UTC',
        selector: `suite=${name}`,
        window_seconds: 0,
        max_concurrent: 10,
        created_at: T0,
        created_by: 'test',
        ...values,
      })
      .execute();
    return `bs_${name}`;
  };
  const units = (scheduleId: string) =>
    db().selectFrom('backup_schedule_units').selectAll().where('schedule_id', '=', scheduleId).orderBy('fire_time').orderBy('host_id').execute();
  const backupsOf = (scheduleId: string) => db().selectFrom('backups').selectAll().where('schedule_id', '=', scheduleId).execute();
  /** What the agent's result would do: the task ends (and a backup that succeeded is stored). */
  const finish = async (taskIds: string[], state: 'succeeded' | 'failed' = 'succeeded') => {
    if (taskIds.length === 0) return;
    await t.db.updateTable('tasks').set({ state, finished_at: new Date() }).where('id', 'in', taskIds).execute();
    if (state === 'succeeded')
      await db()
        .updateTable('backups')
        .set({ state: 'stored', sha256: 'ab'.repeat(32) })
        .where('task_id', 'in', taskIds)
        .execute();
  };
  const live = async (scheduleId: string) => (await units(scheduleId)).filter((u) => u.state === 'started' || u.state === 'claimed');

  beforeAll(async () => {
    t = await createTestContext(backend);
    other = t.database.connect();
    dir = await mkdtemp(join(tmpdir(), 'kf-schedules-'));
    await db()
      .insertInto('backup_keys')
      .values({ id: 'bkey_1', name: 'dr', recipient: `age1${'q'.repeat(58)}`, created_by: 'test' })
      .execute();
  });
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('two hubs ticking at once fire each run once, in the schedule’s time zone, and back up each host once', async () => {
    const id = await schedule('twohubs', { cron: '0 2 * * *', timezone: 'Europe/Berlin' });
    const hostIds = await hosts('twohubs', ['online', 'online', 'online']);
    // 02:00 in Berlin is 00:00 UTC in summer.
    const now = new Date('2026-06-02T00:00:30Z');
    const passes = await Promise.all(Array.from({ length: 6 }, (_, i) => tick(now, i % 2 ? other : t.db)));
    // Every pass saw the run due; one of them won its fire key.
    expect(passes.flatMap((p) => p.fired)).toHaveLength(1);
    const fires = await db().selectFrom('backup_schedule_fires').selectAll().where('schedule_id', '=', id).execute();
    expect(fires.map((f) => [f.fire_time.toISOString(), f.units])).toEqual([['2026-06-02T00:00:00.000Z', 3]]);
    const backups = await backupsOf(id);
    expect(backups.map((b) => b.host_id).sort()).toEqual([...hostIds].sort());
    expect((await units(id)).map((u) => u.state)).toEqual(['started', 'started', 'started']);
    const tasks = await t.db.selectFrom('tasks').select(['type', 'host_id']).where('host_id', 'in', hostIds).execute();
    expect(tasks.map((x) => x.type)).toEqual(['backup.run', 'backup.run', 'backup.run']);
  });

  it('a hub back from downtime fires the missed run once, then keeps to the cron', async () => {
    const id = await schedule('downtime', { cron: '0 * * * *', fired_through: T0 });
    await hosts('downtime', ['online']);
    // Down from T0 to 5h10m: five hourly times passed; one run, for the newest of them.
    const first = await tick(at(5 * H + 10 * 60_000));
    expect(first.fired.map((f) => f.fireTime.toISOString())).toEqual([at(5 * H).toISOString()]);
    expect((await tick(at(5 * H + 20 * 60_000))).fired).toEqual([]);
    expect((await tick(at(6 * H))).fired.map((f) => f.fireTime.toISOString())).toEqual([at(6 * H).toISOString()]);
    expect((await units(id)).map((u) => u.fire_time.toISOString())).toEqual([at(5 * H).toISOString(), at(6 * H).toISOString()]);
    expect(await backupsOf(id)).toHaveLength(2);
  });

  it('spreads starts over the window; a host offline at its start is taken when it returns inside the window, missed after it', async () => {
    const id = await schedule('offline', { cron: '30 3 * * *', window_seconds: 1800 });
    const [up, back, gone] = await hosts('offline', ['online', 'offline', 'offline']);
    const fire = at(3.5 * H);
    await tick(fire);
    const planned = await units(id);
    for (const u of planned) expect(u.start_at.getTime()).toBe(fire.getTime() + spreadOffset(id, u.host_id, fire, 1800_000));
    expect(planned.every((u) => u.window_end.getTime() === fire.getTime() + 1800_000)).toBe(true);

    // Every start time has come: the online host starts, the offline ones wait.
    const allDue = new Date(Math.max(...planned.map((u) => u.start_at.getTime())));
    await tick(allDue);
    const state = async () => Object.fromEntries((await units(id)).map((u) => [u.host_id, u.state]));
    expect(await state()).toEqual({ [up!]: 'started', [back!]: 'pending', [gone!]: 'pending' });

    await t.db.updateTable('hosts').set({ status: 'online' }).where('id', '=', back!).execute();
    await tick(allDue);
    expect(await state()).toEqual({ [up!]: 'started', [back!]: 'started', [gone!]: 'pending' });

    // The window closes before the last one returns: missed, and not backed up when it does return.
    await tick(at(4 * H));
    expect(await state()).toEqual({ [up!]: 'started', [back!]: 'started', [gone!]: 'missed' });
    await t.db.updateTable('hosts').set({ status: 'online' }).where('id', '=', gone!).execute();
    await tick(at(4 * H + 60_000));
    expect((await backupsOf(id)).map((b) => b.host_id).sort()).toEqual([up!, back!].sort());

    const taskOf = async (hostId: string) => (await units(id)).find((u) => u.host_id === hostId)!.task_id!;
    await finish([await taskOf(up!)]);
    await t.db
      .updateTable('tasks')
      .set({ state: 'failed', finished_at: new Date(), error: JSON.stringify({ code: 'handler_error', message: 'pg_dump: connection refused' }) })
      .where('id', '=', await taskOf(back!))
      .execute();
    await tick(at(4 * H + 120_000));
    const [run] = await db().selectFrom('backup_schedule_fires').selectAll().where('schedule_id', '=', id).execute();
    expect(run?.outcome).toEqual({ succeeded: 1, failed: 1, missed: 1, skipped: 0 });
    expect((await units(id)).find((u) => u.host_id === back)).toMatchObject({ state: 'failed', error: 'pg_dump: connection refused' });
  });

  it('holds the fleet-wide cap across hubs; the others wait and start as places free up', async () => {
    const id = await schedule('cap', { cron: '0 4 * * *', max_concurrent: 2 });
    await hosts('cap', ['online', 'online', 'online', 'online', 'online']);
    let now = at(4 * H);
    await Promise.all(Array.from({ length: 6 }, (_, i) => tick(now, i % 2 ? other : t.db)));
    expect((await live(id)).length).toBe(2);
    for (let round = 0; round < 4 && (await units(id)).some((u) => u.state === 'pending'); round++) {
      const running = await live(id);
      expect(running.length).toBeLessThanOrEqual(2);
      await finish([running[0]!.task_id!]);
      now = new Date(now.getTime() + 60_000);
      await Promise.all([tick(now), tick(now, other), tick(now)]);
      expect((await live(id)).length).toBeLessThanOrEqual(2);
    }
    expect((await units(id)).map((u) => u.state).sort()).toEqual(['started', 'started', 'succeeded', 'succeeded', 'succeeded']);
    expect(await backupsOf(id)).toHaveLength(5);
  });

  it('applies the schedule’s retention to its own backups once a run settles: never the newest verified, never a running one', async () => {
    const id = await schedule('retention', { cron: '0 5 * * *', retention: JSON.stringify({ keepLast: 1 }) });
    const [host] = await hosts('retention', ['online']);
    const old = (n: number, state: BackupsTable['state'], scheduleId: string | null = id): Insertable<BackupsTable> => ({
      id: `bk_retention${n}${scheduleId ? '' : 'x'}`,
      host_id: host!,
      schedule_id: scheduleId,
      state,
      started_at: at(-n * 24 * H),
      recipients: '[]',
      storage_kind: 'local',
      storage_key: `${host}/old${n}`,
    });
    await db()
      .insertInto('backups')
      .values([old(3, 'verified'), old(2, 'stored'), old(1, 'stored'), old(1, 'stored', null)])
      .execute();
    await tick(at(5 * H));
    const [unit] = await units(id);
    expect(unit?.state).toBe('started');
    // Pruning while the backup runs neither waits for it nor touches it.
    await pruneBackups(t.db, { scheduleId: id }, { keepLast: 1 }, true);
    expect((await db().selectFrom('backups').select('state').where('id', '=', unit!.backup_id!).executeTakeFirstOrThrow()).state).toBe('running');

    await finish([unit!.task_id!]);
    const settled = await tick(at(5 * H + 60_000));
    expect(settled.pruned).toBe(2);
    const states = Object.fromEntries(
      (await db().selectFrom('backups').select(['id', 'state']).where('host_id', '=', host!).execute()).map((b) => [b.id, b.state]),
    );
    expect(states).toEqual({
      [unit!.backup_id!]: 'stored',
      bk_retention3: 'verified',
      bk_retention2: 'pruned',
      bk_retention1: 'pruned',
      bk_retention1x: 'stored',
    });
  });

  it('keeps the last 100 settled runs of a schedule', async () => {
    const id = await schedule('history', { cron: '* * * * *', paused: true });
    // 101 runs settled long ago, and one (no host matched) that the next pass settles.
    await db()
      .insertInto('backup_schedule_fires')
      .values(
        Array.from({ length: 102 }, (_, i) => ({
          schedule_id: id,
          fire_time: at((i + 1) * 60_000),
          fired_at: at((i + 1) * 60_000),
          units: 0,
          settled_at: i < 101 ? at((i + 1) * 60_000) : null,
        })),
      )
      .execute();
    expect((await settleScheduleRuns(t.db, at(103 * 60_000), log)).settled).toBe(1);
    const fires = await db().selectFrom('backup_schedule_fires').select('fire_time').where('schedule_id', '=', id).orderBy('fire_time').execute();
    expect(fires).toHaveLength(100);
    expect(fires[0]?.fire_time.toISOString()).toBe(at(3 * 60_000).toISOString());
  });

  it('a drill schedule drills each host’s newest stored backup on the drill host; a host without one is skipped', async () => {
    await t.secrets.put('drill-identity', 'AGE-SECRET-KEY-1TEST', 'test');
    const [drillHost] = await hosts('drillhost', ['online']);
    const [withBackup, without] = await hosts('drilled', ['online', 'offline']);
    const id = await schedule('drilled', {
      kind: 'drill',
      cron: '0 6 * * *',
      drill: JSON.stringify({ hostId: drillHost!, identitySecret: 'drill-identity', scratchUrl: 'postgres://drill@127.0.0.1/postgres' }),
    });
    const backup = (n: number): Insertable<BackupsTable> => ({
      id: `bk_drill0000${n}`,
      host_id: withBackup!,
      state: 'stored',
      sha256: 'cd'.repeat(32),
      started_at: at(-n * H),
      recipients: '[]',
      storage_kind: 'local',
      storage_key: `${withBackup}/drill${n}`,
    });
    await db()
      .insertInto('backups')
      .values([backup(2), backup(1)])
      .execute();
    await tick(at(6 * H));
    const byHost = Object.fromEntries((await units(id)).map((u) => [u.host_id, u]));
    expect(byHost[withBackup!]).toMatchObject({ error: null, state: 'started', backup_id: 'bk_drill00001' });
    expect(byHost[without!]).toMatchObject({ state: 'skipped', error: 'no stored backup of this host to drill' });
    const task = await t.db.selectFrom('tasks').select(['type', 'host_id']).where('id', '=', byHost[withBackup!]!.task_id!).executeTakeFirstOrThrow();
    expect(task).toEqual({ type: 'backup.drill', host_id: drillHost });
  });

  it('a task schedule starts its declared task with its params on each online host, and settles with the tasks', async () => {
    const id = await schedule('audits', {
      kind: 'task',
      cron: '0 * * * *',
      window_seconds: 600,
      task: JSON.stringify({ type: 'hardening.audit', params: {} }),
    });
    const [up, down] = await hosts('audits', ['online', 'offline']);
    // Every start in the window has come (the spread is under 10 min).
    await tick(at(H + 600_000 - 1));
    const byHost = Object.fromEntries((await units(id)).map((u) => [u.host_id, u]));
    expect(byHost[up!]).toMatchObject({ state: 'started', backup_id: null, error: null });
    expect(byHost[down!]).toMatchObject({ state: 'pending' });
    const task = await t.db.selectFrom('tasks').select(['type', 'host_id', 'params']).where('id', '=', byHost[up!]!.task_id!).executeTakeFirstOrThrow();
    // The params as the task's input schema parsed them: defaults filled in, as for a task run by hand.
    expect(task).toMatchObject({ type: 'hardening.audit', host_id: up, params: { profile: 'keycloak-host', disabled: [] } });
    expect(await backupsOf(id)).toEqual([]);
    await finish([byHost[up!]!.task_id!]);
    // The window (10 min) closed while the other host was offline: missed, and the run settles.
    await tick(at(H + 601_000));
    const fire = await db().selectFrom('backup_schedule_fires').selectAll().where('schedule_id', '=', id).executeTakeFirstOrThrow();
    expect(fire.outcome).toEqual({ succeeded: 1, failed: 0, missed: 1, skipped: 0 });
  });
});
