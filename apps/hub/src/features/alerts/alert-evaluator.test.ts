import { createLogger } from '@keyfleet/log';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HubServiceDeps } from '../../hub-feature.js';
import { startTestDatabase, type TestBackend, type TestDatabase, testBackends } from '../../testing/test-database.js';
import { alertEvaluator } from './alert-evaluator.js';
import { alertsDb } from './alerts-tables.js';

describe.each(testBackends)('the alert evaluator on facts (%s)', (backend: TestBackend) => {
  let database: TestDatabase;
  let stop: (() => Promise<void>) | undefined;
  const saved = process.env.KEYFLEET_ALERTS_EVAL_MS;

  beforeAll(async () => {
    database = await startTestDatabase(backend);
    process.env.KEYFLEET_ALERTS_EVAL_MS = '200';
    // The evaluator uses the database and a logger only; the rest of a hub's dependencies stay out.
    const deps = { db: database.db, log: createLogger('alert-evaluator-test', { level: 'silent' }) } as unknown as HubServiceDeps;
    stop = (await alertEvaluator.start(deps)).stop;
  });
  afterAll(async () => {
    await stop?.();
    process.env.KEYFLEET_ALERTS_EVAL_MS = saved;
    await database?.close();
  });

  it('a certificate running out fires certificate-expiry on a tick, notified once; renewed, it resolves', async () => {
    const db = alertsDb(database.db);
    await db
      .insertInto('hosts')
      .values({
        id: 'h_cert',
        hostname: 'kc-cert',
        labels: JSON.stringify({}),
        nkey_public: 'UCERT',
        status: 'online',
        task_types: JSON.stringify([]),
        heartbeat_interval_ms: 3_600_000,
        max_concurrency: 4,
        last_heartbeat: 'null',
        last_heartbeat_at: new Date(),
      })
      .execute();
    await db
      .insertInto('alert_channels')
      .values({ name: 'ops', kind: 'webhook', config: JSON.stringify({ url: 'http://127.0.0.1:9/' }), created_by: 'test' })
      .execute();
    const servedUntil = (days: number) => new Date(Date.now() + days * 86_400_000);
    await sql`INSERT INTO certificates (id, host_id, domains, issuer, challenge, key_type, http01_port, https_port, reload_period, state, not_after, served_not_after, created_by)
              VALUES ('crt_1', 'h_cert', '["sso.example.test"]'::jsonb, '{"kind":"internal"}'::jsonb, 'http-01', 'ecdsa-p256', 80, 8443, '1m', 'valid',
                      ${servedUntil(3)}, ${servedUntil(3)}, 'test')`.execute(db);

    const alertOf = () => db.selectFrom('alerts').selectAll().where('rule', '=', 'certificate-expiry').where('host_id', '=', 'h_cert').executeTakeFirst();
    const firing = await vi.waitFor(
      async () => {
        const a = await alertOf();
        expect(a?.state).toBe('firing');
        return a!;
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(firing.summary).toMatch(/^certificate-expiry on kc-cert: certificate for sso\.example\.test expires in (2\.9\d*|3) days, under 14$/);

    // Renewed: the next ticks resolve it, and each transition was queued once.
    await sql`UPDATE certificates SET not_after = ${servedUntil(90)}, served_not_after = ${servedUntil(90)} WHERE id = 'crt_1'`.execute(db);
    await vi.waitFor(
      async () => {
        expect((await alertOf())?.state).toBe('resolved');
      },
      { timeout: 20_000, interval: 100 },
    );
    const notes = await db
      .selectFrom('alert_notifications')
      .select(['transition', 'channel'])
      .where('alert_id', '=', firing.id)
      .orderBy('transition')
      .execute();
    expect(notes).toEqual([
      { transition: 'firing', channel: 'ops' },
      { transition: 'resolved', channel: 'ops' },
    ]);
    // The host's heartbeats are on time: no other fact rule has anything open on it.
    expect((await db.selectFrom('alerts').select('rule').where('host_id', '=', 'h_cert').execute()).map((a) => a.rule)).toEqual(['certificate-expiry']);
  });
});
