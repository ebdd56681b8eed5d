import type { Kysely } from 'kysely';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { taskState } from '@keyfleet/proto/v1';
import type { Database } from '../store/database.js';

const TASK_STATES = taskState.options;

/**
 * The hub's Prometheus metrics. Fleet gauges are read from the database on each
 * scrape, so every hub sharing the database reports the same fleet-wide numbers.
 */
export class HubMetrics {
  readonly registry = new Registry();
  /** Seconds from a task being queued to the agent accepting it; observed by the dispatcher. */
  readonly dispatchLatency: Histogram;

  constructor(db: Kysely<Database>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'keyfleet_hub_' });

    new Gauge({
      name: 'keyfleet_hosts_online',
      help: 'Hosts whose agent is connected and heartbeating.',
      registers: [this.registry],
      async collect() {
        const row = await db
          .selectFrom('hosts')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', '=', 'online')
          .executeTakeFirst();
        this.set(Number(row?.n ?? 0));
      },
    });

    new Gauge({
      name: 'keyfleet_tasks',
      help: 'Tasks by state.',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const rows = await db
          .selectFrom('tasks')
          .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
          .groupBy('state')
          .execute();
        const counts = new Map(rows.map((r) => [r.state, Number(r.n)]));
        // Every state is reported, 0 included, so rate() and alerts never see gaps.
        for (const state of TASK_STATES) this.set({ state }, counts.get(state) ?? 0);
      },
    });

    this.dispatchLatency = new Histogram({
      name: 'keyfleet_dispatch_latency_seconds',
      help: 'Time from a task being queued to its agent accepting it.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    });
  }
}
