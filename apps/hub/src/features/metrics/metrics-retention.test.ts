import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase, testBackends } from '../../testing/test-database.js';
import { runRetention } from './metrics-retention.js';
import { metricsDb } from './metrics-tables.js';

const policy = { rawSec: 86_400, downsampledSec: 30 * 86_400, batch: 2 };
// A 5-minute bucket two days ago: past the raw retention, inside the downsampled one.
const bucket = Math.floor((Date.now() / 1000 - 2 * 86_400) / 300) * 300;
const at = (sec: number) => new Date(sec * 1000);

async function insertHost(tdb: TestDatabase): Promise<void> {
  await tdb.db
    .insertInto('hosts')
    .values({
      id: 'h1',
      hostname: 'h1',
      labels: JSON.stringify({}),
      nkey_public: 'UH1',
      status: 'online',
      task_types: JSON.stringify([]),
      heartbeat_interval_ms: 15_000,
      max_concurrency: 4,
      last_heartbeat: 'null',
    })
    .execute();
}

/** Inserts [step_sec, epoch seconds, series] rows for host h1. */
async function insertSamples(tdb: TestDatabase, rows: Array<[number, number, Record<string, number>]>): Promise<void> {
  await metricsDb(tdb.db)
    .insertInto('host_metrics')
    .values(rows.map(([step, sec, series]) => ({ host_id: 'h1', step_sec: step, at: at(sec), series: JSON.stringify(series) as never })))
    .execute();
}

const metricRows = (tdb: TestDatabase) =>
  metricsDb(tdb.db).selectFrom('host_metrics').select(['step_sec', 'at', 'series']).orderBy('step_sec').orderBy('at').execute();

describe.each(testBackends)('metrics retention (%s)', (backend) => {
  let tdb: TestDatabase;

  beforeAll(async () => {
    tdb = await startTestDatabase(backend);
    await insertHost(tdb);
  });
  afterAll(async () => {
    await tdb?.close();
  });
  beforeEach(async () => {
    await sql`DELETE FROM host_metrics`.execute(tdb.db);
  });

  const insert = (rows: Array<[number, number, Record<string, number>]>) => insertSamples(tdb, rows);
  const rows = () => metricRows(tdb);

  it('folds old samples (gauges averaged, counters last) and deletes raw rows in batches', async () => {
    await insert([
      [0, bucket + 10, { cpu: 10, logins_total: 100 }],
      [0, bucket + 70, { cpu: 30, logins_total: 160 }],
      [0, bucket + 130, { cpu: 20, logins_total: 170 }],
      [300, bucket - 31 * 86_400, { cpu: 1 }],
    ]);
    const result = await runRetention(tdb.db, policy);
    expect(result).toEqual({ downsampled: 1, deleted: 4 });
    expect(await rows()).toEqual([{ step_sec: 300, at: at(bucket), series: { cpu: 20, logins_total: 170 } }]);
  });

  it('a backfilled bucket older than the newest folded one is filled once, not overwritten', async () => {
    const recent = Math.floor((Date.now() / 1000 - 3_600) / 300) * 300;
    await insert([
      [300, recent, { cpu: 50 }],
      [300, bucket, { cpu: 99 }],
      [0, bucket + 10, { cpu: 10 }],
    ]);
    await runRetention(tdb.db, policy);
    expect((await rows()).map((r) => r.series)).toEqual([{ cpu: 99 }, { cpu: 50 }]);
  });

  it('two hubs running retention at once both finish and leave one folded row', async () => {
    await insert([
      [0, bucket + 10, { cpu: 10 }],
      [0, bucket + 70, { cpu: 30 }],
    ]);
    const other = tdb.connect();
    const results = await Promise.allSettled([runRetention(tdb.db, policy), runRetention(other, policy)]);
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).filter((r) => r !== 'ok')).toEqual([]);
    expect(await rows()).toEqual([{ step_sec: 300, at: at(bucket), series: { cpu: 20 } }]);
  });
});

// Only Postgres serves several hubs: the embedded database serves one connection at a time.
describe('metrics retention across hubs (postgres)', () => {
  let tdb: TestDatabase;

  beforeAll(async () => {
    tdb = await startTestDatabase('postgres');
    await insertHost(tdb);
  });
  afterAll(async () => {
    await tdb?.close();
  });
  const insert = (rows: Array<[number, number, Record<string, number>]>) => insertSamples(tdb, rows);
  const rows = () => metricRows(tdb);

  it('while another hub holds the retention lock, a run changes nothing and returns at once', async () => {
    await insert([[0, bucket + 10, { cpu: 10 }]]);
    const otherHub = new pg.Client(tdb.clientConfig);
    await otherHub.connect();
    try {
      await otherHub.query('BEGIN');
      const { rows: held } = await otherHub.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [0x6b666d72]);
      expect(held[0]!.locked).toBe(true);
      expect(await runRetention(tdb.db, policy)).toEqual({ downsampled: 0, deleted: 0 });
      expect((await rows()).map((r) => r.step_sec)).toEqual([0]);
      await otherHub.query('COMMIT');
    } finally {
      await otherHub.end();
    }
    expect(await runRetention(tdb.db, policy)).toEqual({ downsampled: 1, deleted: 1 });
  });
});
