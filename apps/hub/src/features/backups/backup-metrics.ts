import { Gauge } from 'prom-client';
import { sql } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { backupsDb } from './backups-tables.js';

/**
 * Per-host backup gauges on the hub's /metrics, read from the catalog at scrape time (so every
 * hub sharing a database says the same): when the newest usable backup finished, when one was
 * last proven by a drill, and that newest backup's size and duration. Alert on
 * `time() - keyfleet_backup_last_success_timestamp > 26 * 3600`.
 */
export function registerBackupMetrics({ db: coreDb, metrics }: Pick<ApiDeps, 'db' | 'metrics'>): void {
  const db = backupsDb(coreDb);
  const latest = () =>
    db
      .selectFrom('backups')
      .select([
        'host_id',
        sql<Date>`max(finished_at)`.as('last_success'),
        sql<Date | null>`max(verified_at)`.as('last_verified'),
        sql<string>`(array_agg(size_bytes ORDER BY finished_at DESC))[1]`.as('size'),
        sql<number>`(array_agg(extract(epoch FROM finished_at - started_at) ORDER BY finished_at DESC))[1]`.as('duration'),
      ])
      .where('state', 'in', ['stored', 'verified'])
      .groupBy('host_id')
      .execute();
  const seconds = (d: Date | null) => (d ? new Date(d).getTime() / 1000 : undefined);
  const gauge = (name: string, help: string, value: (r: Awaited<ReturnType<typeof latest>>[number]) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['host'],
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (const r of await latest()) {
          const v = value(r);
          if (v !== undefined && Number.isFinite(v)) this.set({ host: r.host_id }, v);
        }
      },
    });
  gauge('keyfleet_backup_last_success_timestamp', 'When the newest stored backup of the host finished (Unix seconds)', (r) => seconds(r.last_success));
  gauge('keyfleet_backup_last_verified_timestamp', 'When a backup of the host was last proven restorable by a drill (Unix seconds)', (r) =>
    seconds(r.last_verified),
  );
  gauge('keyfleet_backup_last_size_bytes', 'Ciphertext size of the newest stored backup of the host', (r) => Number(r.size));
  gauge('keyfleet_backup_last_duration_seconds', 'How long the newest stored backup of the host took', (r) => Number(r.duration));
}
