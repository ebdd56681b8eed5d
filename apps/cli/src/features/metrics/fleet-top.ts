import type { BackupsRoutes, CertificatesRoutes } from '@keyfleet/hub';
import { hc } from 'hono/client';
import type { CliContext } from '../../cli-context.js';
import { expectOk, hubClientOptions } from '../../hub-client.js';
import { type HostTopRow, LIVE_METRICS, liveFigures } from './host-top-row.js';
import { metricsClient } from './metrics-client.js';

/** Histories asked for at once: enough to fill a screen quickly without flooding the hub. */
const CONCURRENCY = 8;
const DAY_MS = 86_400_000;

export interface FleetTopOptions {
  selector?: string;
  /** Hosts shown at most, busiest CPU first. */
  limit: number;
}

/**
 * One frame of `hosts top` from the hub's read models: each host's recent metric history (the
 * newest points; counters as rates), its soonest certificate expiry and its newest stored backup.
 * Certificates and backups are optional features of a hub: where one answers nothing, those
 * columns stay empty.
 */
export async function fleetTop(ctx: CliContext, opts: FleetTopOptions): Promise<HostTopRow[]> {
  const { items: hosts } = await expectOk(await ctx.hub.v1.hosts.$get({ query: { selector: opts.selector } }));
  const [certDays, backupAge] = await Promise.all([certificateDays(ctx), backupAges(ctx)]);
  const metrics = metricsClient(ctx);
  const rows: HostTopRow[] = [];
  const queue = [...hosts];
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
      for (let host = queue.shift(); host; host = queue.shift()) {
        const res = await metrics.hosts[':id'].metrics.$get({ param: { id: host.id }, query: { names: LIVE_METRICS.join(','), since: '1m', step: '15s' } });
        const live = res.ok ? liveFigures((await res.json()).series) : {};
        rows.push({
          hostId: host.id,
          hostname: host.hostname,
          status: host.status,
          ...live,
          certDaysLeft: certDays.get(host.id),
          backupAgeHours: backupAge.get(host.id),
        });
      }
    }),
  );
  rows.sort((a, b) => (b.cpuPercent ?? -1) - (a.cpuPercent ?? -1) || a.hostname.localeCompare(b.hostname));
  return rows.slice(0, opts.limit);
}

async function certificateDays(ctx: CliContext): Promise<Map<string, number>> {
  const res = await hc<CertificatesRoutes>(`${ctx.hubUrl}/v1`, hubClientOptions({ hub: ctx.hubUrl, token: ctx.token })).certificates.$get({ query: {} });
  const days = new Map<string, number>();
  if (!res.ok) return days;
  for (const c of (await res.json()).items) {
    const notAfter = c.servedNotAfter ?? c.notAfter;
    if (!notAfter) continue;
    const left = (Date.parse(notAfter) - Date.now()) / DAY_MS;
    days.set(c.hostId, Math.min(left, days.get(c.hostId) ?? Number.POSITIVE_INFINITY));
  }
  return days;
}

async function backupAges(ctx: CliContext): Promise<Map<string, number>> {
  const res = await hc<BackupsRoutes>(`${ctx.hubUrl}/v1`, hubClientOptions({ hub: ctx.hubUrl, token: ctx.token })).backups.$get({ query: { limit: '1000' } });
  const ages = new Map<string, number>();
  if (!res.ok) return ages;
  // Newest first: the first stored (or verified) backup of a host is its newest.
  for (const b of (await res.json()).items) {
    if (ages.has(b.hostId) || (b.state !== 'stored' && b.state !== 'verified') || !b.finishedAt) continue;
    ages.set(b.hostId, (Date.now() - Date.parse(b.finishedAt)) / 3_600_000);
  }
  return ages;
}
