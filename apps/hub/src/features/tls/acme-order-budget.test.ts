import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase, testBackends } from '../../testing/test-database.js';
import { OrderBudgetSpent, orderLimitFromEnv, reserveAcmeOrder } from './acme-order-budget.js';

describe('the order limit setting', () => {
  it('reads <orders>/<window>, defaults to Let’s Encrypt’s 300 per 3 h, and can be off', () => {
    expect(orderLimitFromEnv('20/15m')).toEqual({ orders: 20, windowMs: 15 * 60_000 });
    expect(orderLimitFromEnv(undefined)).toEqual({ orders: 300, windowMs: 3 * 3_600_000 });
    expect(orderLimitFromEnv('off')).toBeUndefined();
    expect(() => orderLimitFromEnv('lots')).toThrow('KEYFLEET_ACME_ORDER_LIMIT=lots: expected <orders>/<window> like 300/3h, or off');
    expect(() => orderLimitFromEnv('0/1h')).toThrow(/expected/);
  });
});

describe.each(testBackends)('the fleet-wide ACME order budget (%s)', (backend) => {
  let database: TestDatabase;
  const dir = 'https://acme.example.com/dir';
  const limit = { orders: 3, windowMs: 3_600_000 };
  const t0 = new Date('2026-06-01T00:00:00Z');
  const at = (min: number) => new Date(t0.getTime() + min * 60_000);
  /** The retry time of a refused reservation, or 'ok'. */
  const reserve = (db: TestDatabase['db'], when: Date, url = dir) =>
    reserveAcmeOrder(db, url, limit, when).then(
      () => 'ok',
      (err: unknown) => {
        if (!(err instanceof OrderBudgetSpent)) throw err;
        return err.retryAt.toISOString();
      },
    );

  beforeAll(async () => {
    database = await startTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.close();
  });

  it('two hubs asking at once get exactly the budget between them; the rest learn when the window has room', async () => {
    const other = database.connect();
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => reserve(i % 2 ? other : database.db, at(i))));
    expect(results.filter((r) => r === 'ok')).toHaveLength(3);
    // Refused ones wait for the oldest order to leave the window (at t0 + 0..2 min + 1 h).
    for (const r of results.filter((r) => r !== 'ok')) expect(Date.parse(r) - t0.getTime()).toBeGreaterThanOrEqual(3_600_000);
    // Another CA has its own budget.
    expect(await reserve(database.db, at(5), 'https://other-ca.example.com/dir')).toBe('ok');
  });

  it('an order that left the window frees its place', async () => {
    const spent = await reserve(database.db, at(30));
    expect(spent).not.toBe('ok');
    const freeAt = new Date(Date.parse(spent));
    expect(await reserve(database.db, new Date(freeAt.getTime() - 1_000))).not.toBe('ok');
    expect(await reserve(database.db, freeAt)).toBe('ok');
  });
});
