import { sql } from 'kysely';
import type { ApiDeps } from '../api-deps.js';
import { createRouter } from '../create-router.js';

const READY_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Liveness, readiness and Prometheus metrics; unauthenticated, outside /v1. */
export function healthRoutes({ db, metrics, natsConnected }: ApiDeps) {
  return createRouter()
    .get('/healthz', (c) => c.json({ status: 'ok' as const }, 200))
    .get('/readyz', async (c) => {
      const problems: string[] = [];
      try {
        await withTimeout(sql`select 1`.execute(db), READY_TIMEOUT_MS, 'database');
      } catch (err) {
        problems.push(`database: ${(err as Error).message}`);
      }
      if (!natsConnected()) problems.push('nats: not connected');
      if (problems.length > 0) return c.json({ status: 'unavailable' as const, problems }, 503);
      return c.json({ status: 'ready' as const, problems }, 200);
    })
    .get('/metrics', async (c) => {
      const body = await metrics.registry.metrics();
      return c.body(body, 200, { 'Content-Type': metrics.registry.contentType });
    });
}
