import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/database.js';
import { tlsDb } from './certificates-tables.js';

/** How many orders the fleet may place at one ACME directory per window. */
export interface OrderLimit {
  orders: number;
  windowMs: number;
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * KEYFLEET_ACME_ORDER_LIMIT: `<orders>/<window>` like `300/3h` (Let's Encrypt's new-orders limit
 * per account, the default), or `off`.
 */
export function orderLimitFromEnv(value = process.env.KEYFLEET_ACME_ORDER_LIMIT): OrderLimit | undefined {
  const v = (value ?? '300/3h').trim();
  if (v === 'off') return undefined;
  const m = /^(\d+)\/(\d+)([smhd])$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new Error(`KEYFLEET_ACME_ORDER_LIMIT=${value}: expected <orders>/<window> like 300/3h, or off`);
  return { orders: Number(m[1]), windowMs: Number(m[2]) * UNIT_MS[m[3] as keyof typeof UNIT_MS] };
}

/** The fleet has spent its order budget at a CA; the next order fits at `retryAt`. */
export class OrderBudgetSpent extends Error {
  constructor(
    readonly retryAt: Date,
    limit: OrderLimit,
  ) {
    super(
      `queued: the fleet's ACME order budget (${limit.orders} per ${Math.round(limit.windowMs / 60_000)} min) is spent; next order at ${retryAt.toISOString()}`,
    );
  }
}

/**
 * Takes one order from the fleet-wide budget at `directoryUrl`, or throws OrderBudgetSpent with
 * when the oldest order in the window leaves it. All hubs share the count in the database, and a
 * transaction-level advisory lock per directory makes count-and-take atomic across them.
 */
export async function reserveAcmeOrder(db: Kysely<Database>, directoryUrl: string, limit: OrderLimit, now = new Date()): Promise<void> {
  const since = new Date(now.getTime() - limit.windowMs);
  const retryAt = await tlsDb(db)
    .transaction()
    .execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(4242, hashtext(${directoryUrl}))`.execute(trx);
      await trx.deleteFrom('acme_orders').where('directory_url', '=', directoryUrl).where('ordered_at', '<=', since).execute();
      const inWindow = await trx
        .selectFrom('acme_orders')
        .select('ordered_at')
        .where('directory_url', '=', directoryUrl)
        .where('ordered_at', '>', since)
        .orderBy('ordered_at')
        .execute();
      if (inWindow.length >= limit.orders) {
        // Room for one more once enough of the oldest have left the window.
        return new Date(inWindow[inWindow.length - limit.orders]!.ordered_at.getTime() + limit.windowMs);
      }
      await trx.insertInto('acme_orders').values({ directory_url: directoryUrl, ordered_at: now }).execute();
      return undefined;
    });
  if (retryAt) throw new OrderBudgetSpent(retryAt, limit);
}
