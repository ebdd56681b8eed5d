import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from './create-db.js';
import { hubFeatures } from '../features/index.js';
import type { HubFeature } from '../hub-feature.js';
import { migrateUp, migrationStatus } from './migrator.js';
import { freshClusterSnapshot } from '../testing/fresh-cluster-snapshot.js';

describe('migrator on embedded PGlite', () => {
  let dir: string;
  let handle: DbHandle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-hub-migrate-'));
    handle = await createDb({ dataDir: join(dir, 'db'), snapshot: await freshClusterSnapshot() });
  });
  afterAll(async () => {
    await handle?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports pending migrations, applies them once, then reports them applied', async () => {
    expect(handle.kind).toBe('pglite');
    // Features add migrations as they land: the core's come first, every feature's is in the one
    // sequence, ordered by name, and all are pending on a fresh cluster.
    const pending = await migrationStatus(handle.db, hubFeatures);
    const names = pending.map((s) => s.name);
    expect(names.slice(0, 2)).toEqual(['0001-initial', '0002-secrets']);
    expect(names).toEqual([...names].sort());
    for (const feature of hubFeatures) for (const name of Object.keys(feature.migrations ?? {})) expect(names).toContain(name);
    expect(pending).toEqual(names.map((name) => ({ name, appliedAt: null })));

    const results = await migrateUp(handle.db, hubFeatures);
    expect(results.map((r) => [r.migrationName, r.status])).toEqual(names.map((n) => [n, 'Success']));
    expect(await migrateUp(handle.db, hubFeatures)).toEqual([]);

    for (const status of await migrationStatus(handle.db, hubFeatures)) expect(status.appliedAt).toBeInstanceOf(Date);
  });

  it("takes a feature's new migration that sorts before ones the database already ran", async () => {
    const late = {
      name: 'late',
      migrations: { '0009-late-feature': { up: (db) => db.schema.createTable('late_feature').addColumn('id', 'integer').execute() } },
    } satisfies HubFeature;
    const results = await migrateUp(handle.db, [...hubFeatures, late]);
    expect(results.map((r) => [r.migrationName, r.status])).toEqual([['0009-late-feature', 'Success']]);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from late_feature`.execute(handle.db);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('reads timestamptz as Date, jsonb as objects and bigint ids as numbers', async () => {
    await handle.db
      .insertInto('audit_log')
      .values({ actor: 'test', action: 'x.y', target: null, outcome: 'ok', detail: JSON.stringify({ a: 1 }) })
      .execute();
    const row = await handle.db.selectFrom('audit_log').selectAll().executeTakeFirstOrThrow();
    expect(row.at).toBeInstanceOf(Date);
    expect(row.detail).toEqual({ a: 1 });
    expect(typeof row.id).toBe('number');
    const { rows } = await sql<{ n: number }>`select count(*) as n from audit_log`.execute(handle.db);
    expect(rows[0]?.n).toBe(1);
  });

  it('keeps data across a reopen of the same data dir', async () => {
    await handle.close();
    handle = await createDb({ dataDir: join(dir, 'db') });
    expect(await handle.db.selectFrom('audit_log').select('action').execute()).toEqual([{ action: 'x.y' }]);
  });
});
