import type { Heartbeat } from '@keyfleet/proto/v1';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../testing/test-context.js';
import { type TestBackend, testBackends } from '../testing/test-database.js';
import { writeHeartbeats } from './write-heartbeats.js';

const beat = (hostId: string, uptimeSec: number): Heartbeat => ({
  proto: 'v1',
  msgId: `m-${hostId}-${uptimeSec}`,
  sentAt: new Date().toISOString(),
  kind: 'heartbeat',
  hostId,
  uptimeSec,
  cpuPercent: 5,
  load: [0.1, 0.2, 0.3],
  memory: { totalBytes: 100, usedBytes: 40 },
  disks: [],
  runningTasks: 0,
});

describe.each(testBackends)('writeHeartbeats (%s)', (backend: TestBackend) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('one statement per batch: each item gets its host’s status before; the last heartbeat of a host wins; unknown hosts get none', async () => {
    const away = await t.addHost({ hostname: `away-${backend}`, status: 'offline' });
    const here = await t.addHost({ hostname: `here-${backend}` });
    const previous = await writeHeartbeats(t.db, [
      { hostId: away, heartbeat: beat(away, 1) },
      { hostId: here, heartbeat: beat(here, 1) },
      { hostId: 'h-nobody', heartbeat: beat('h-nobody', 1) },
      { hostId: away, heartbeat: beat(away, 2) },
    ]);
    expect(previous).toEqual(['offline', 'online', undefined, 'offline']);
    const rows = await t.db.selectFrom('hosts').select(['id', 'status', 'last_heartbeat', 'last_heartbeat_at']).where('id', 'in', [away, here]).execute();
    expect(rows.every((r) => r.status === 'online' && r.last_heartbeat_at instanceof Date)).toBe(true);
    // Stored without the envelope, as the single-heartbeat write did.
    expect(rows.find((r) => r.id === away)?.last_heartbeat).toEqual({
      sentAt: expect.any(String),
      uptimeSec: 2,
      cpuPercent: 5,
      load: [0.1, 0.2, 0.3],
      memory: { totalBytes: 100, usedBytes: 40 },
      disks: [],
      runningTasks: 0,
    });
  });
});

// Lock order and lock strength between connections: what several hubs on one Postgres do
// (the embedded database serves one hub).
describe('writeHeartbeats across connections (postgres)', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext('postgres');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('two hubs’ batches over the same hosts in opposite orders do not deadlock, nor fail a repeatable-read metric insert', async () => {
    const hosts = await Promise.all(Array.from({ length: 60 }, (_, i) => t.addHost({ hostname: `many-${i}` })));
    const other = t.database.connect();
    for (let round = 0; round < 5; round++) {
      await Promise.all([
        writeHeartbeats(
          t.db,
          hosts.map((h) => ({ hostId: h, heartbeat: beat(h, round) })),
        ),
        writeHeartbeats(
          other,
          [...hosts].reverse().map((h) => ({ hostId: h, heartbeat: beat(h, round) })),
        ),
      ]);
    }
    // The metrics retention folds in a repeatable-read transaction whose inserts check the host
    // key: a heartbeat written after its snapshot must not make that check fail.
    const retention = new pg.Client(t.database.clientConfig);
    await retention.connect();
    try {
      await retention.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await retention.query('SELECT count(*) FROM host_metrics');
      await writeHeartbeats(t.db, [{ hostId: hosts[0]!, heartbeat: beat(hosts[0]!, 99) }]);
      await retention.query(`INSERT INTO host_metrics (host_id, step_sec, at, series) VALUES ($1, 300, now(), '{}'::jsonb)`, [hosts[0]]);
      await retention.query('COMMIT');
    } finally {
      await retention.end();
    }
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM host_metrics WHERE host_id = ${hosts[0]!}`.execute(t.db)).rows[0]?.n).toBe(1);
  });
});
