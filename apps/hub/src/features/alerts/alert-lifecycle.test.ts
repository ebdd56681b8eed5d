import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretStore } from '../../secrets/secret-store.js';
import { startTestDatabase, type TestBackend, type TestDatabase, testBackends } from '../../testing/test-database.js';
import type { AlertRule } from './alert-rule.js';
import { deliverDue } from './alert-delivery.js';
import { applyObservations } from './alert-lifecycle.js';
import { alertsDb } from './alerts-tables.js';
import { queueRepeats } from './queue-repeats.js';

const rule: AlertRule = { name: 'disk-full', severity: 'warning', for: 0, enabled: true, condition: { kind: 'host-offline' } };
const noSecrets = { reveal: async () => ({ values: new Map(), problems: new Map() }) } as unknown as SecretStore;

describe.each(testBackends)('alert lifecycle with several hubs (%s)', (backend: TestBackend) => {
  let database: TestDatabase;
  const received: string[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push(body);
      res.writeHead(204).end();
    });
  });

  beforeAll(async () => {
    database = await startTestDatabase(backend);
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    await database.db
      .insertInto('hosts')
      .values({
        id: 'h_1',
        hostname: 'kc1',
        labels: JSON.stringify({}),
        nkey_public: 'UXXX',
        status: 'online',
        task_types: JSON.stringify([]),
        heartbeat_interval_ms: 15_000,
        max_concurrency: 4,
        last_heartbeat: 'null',
      })
      .execute();
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`;
    await alertsDb(database.db)
      .insertInto('alert_channels')
      .values({ name: 'ops', kind: 'webhook', config: JSON.stringify({ url }), created_by: 'test' })
      .execute();
  });
  afterAll(async () => {
    hook.close();
    await database?.close();
  });

  it('many evaluations on two hubs at once: one alert, one firing and one resolve notification, each delivered once', async () => {
    const hubs = [alertsDb(database.db), alertsDb(database.connect())];
    const host = { id: 'h_1', hostname: 'kc1' };
    const channels = async () => ['ops'];
    const breach = [{ labels: { mount: '/' }, value: 0.9, active: true }];
    await Promise.all(Array.from({ length: 20 }, (_, i) => applyObservations(hubs[i % 2]!, rule, host, breach, channels)));
    const db = hubs[0]!;
    const alerts = await db.selectFrom('alerts').selectAll().execute();
    expect(alerts.map((a) => a.state)).toEqual(['firing']);

    const clear = [{ labels: { mount: '/' }, value: 0.5, active: false }];
    await Promise.all(Array.from({ length: 20 }, (_, i) => applyObservations(hubs[i % 2]!, rule, host, clear, channels)));
    const notes = await db.selectFrom('alert_notifications').select(['transition', 'channel']).orderBy('transition').execute();
    expect(notes).toEqual([
      { transition: 'firing', channel: 'ops' },
      { transition: 'resolved', channel: 'ops' },
    ]);

    // Both hubs deliver at once: each notification is claimed by one of them.
    await Promise.all([deliverDue(hubs[0]!, noSecrets), deliverDue(hubs[1]!, noSecrets), deliverDue(hubs[0]!, noSecrets), deliverDue(hubs[1]!, noSecrets)]);
    expect(received.map((b) => JSON.parse(b).transition).sort()).toEqual(['firing', 'resolved']);
    expect((await db.selectFrom('alert_notifications').select('state').execute()).map((n) => n.state)).toEqual(['sent', 'sent']);
  });

  it('a firing, unacknowledged alert is notified again every repeat, once across hubs; ack stops it; resolve is notified', async () => {
    const hubs = [alertsDb(database.db), alertsDb(database.connect())];
    const db = hubs[0]!;
    const repeating: AlertRule = { ...rule, name: 'memory-high', repeat: 3600 };
    const host = { id: 'h_1', hostname: 'kc1' };
    const channels = async () => ['ops'];
    await applyObservations(db, repeating, host, [{ labels: {}, value: 0.95, active: true }], channels);
    const alert = await db.selectFrom('alerts').selectAll().where('rule', '=', 'memory-high').executeTakeFirstOrThrow();
    const firedAt = new Date(alert.fired_at!).getTime();
    const repeats = async () =>
      (
        await db.selectFrom('alert_notifications').select('seq').where('alert_id', '=', alert.id).where('transition', '=', 'repeat').orderBy('seq').execute()
      ).map((n) => n.seq);
    // The hubs' clocks, injected: a minute short of the interval, nothing is due.
    const at = (ms: number) => new Date(firedAt + ms);
    expect(await queueRepeats(db, repeating, channels, at(59 * 60_000))).toBe(0);
    // Past it, both hubs tick at once: one repeat.
    await Promise.all(Array.from({ length: 6 }, (_, i) => queueRepeats(hubs[i % 2]!, repeating, channels, at(61 * 60_000))));
    expect(await repeats()).toEqual([1]);
    // The next is due an interval after the last repeat, not after the firing.
    expect(await queueRepeats(db, repeating, channels, at(119 * 60_000))).toBe(0);
    expect(await queueRepeats(db, repeating, channels, at(122 * 60_000))).toBe(1);
    expect(await repeats()).toEqual([1, 2]);

    await deliverDue(db, noSecrets);
    const delivered = received.map((b) => JSON.parse(b)).filter((b) => b.alert.rule === 'memory-high');
    // One delivery run claims all three; their order within it is the database's.
    expect(delivered.map((b) => b.transition).sort()).toEqual(['firing', 'repeat', 'repeat']);

    await db
      .updateTable('alerts')
      .set({ acked_at: at(123 * 60_000), acked_by: 'test' })
      .where('id', '=', alert.id)
      .execute();
    expect(await queueRepeats(db, repeating, channels, at(300 * 60_000))).toBe(0);
    await applyObservations(db, repeating, host, [{ labels: {}, value: 0.5, active: false }], channels);
    await deliverDue(db, noSecrets);
    expect(
      received
        .map((b) => JSON.parse(b))
        .filter((b) => b.alert.rule === 'memory-high')
        .map((b) => b.transition)
        .sort(),
    ).toEqual(['firing', 'repeat', 'repeat', 'resolved']);
  });
});
