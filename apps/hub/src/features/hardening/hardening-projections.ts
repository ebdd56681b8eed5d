import { randomBytes } from 'node:crypto';
import type { TaskName } from '@keyfleet/proto/v1';
import type { Kysely } from 'kysely';
import type { ProjectedResult, ResultProjection, ResultProjections } from '../../dispatch/result-projection.js';
import type { Database } from '../../store/database.js';
import type { HardeningReport, RuleStatusChange } from './hardening-schemas.js';
import { hardeningDb } from './hardening-tables.js';

/** Rules whose status differs between two reports. */
export function statusChanges(before: HardeningReport, after: HardeningReport): RuleStatusChange[] {
  const old = new Map(before.findings.map((f) => [f.rule, f.status]));
  return after.findings.filter((f) => old.get(f.rule) !== f.status).map((f) => ({ rule: f.rule, from: old.get(f.rule) ?? null, to: f.status }));
}

/**
 * Keeps the host's last report and records every status change against the one before as an
 * event. A report older than the stored one (re-sent late) changes nothing.
 */
async function project(trx: Kysely<Database>, r: ProjectedResult, report: HardeningReport | undefined): Promise<void> {
  if (r.outcome !== 'succeeded' || !report) return;
  const db = hardeningDb(trx);
  // Locking the host serializes its results (several hubs may store them at once), so each is compared with the one before.
  const host = await db.selectFrom('hosts').select('id').where('id', '=', r.hostId).forUpdate().executeTakeFirst();
  if (!host) return;
  const previous = await db.selectFrom('hardening_hosts').select(['report', 'checked_at']).where('host_id', '=', r.hostId).executeTakeFirst();
  if (previous && previous.checked_at.getTime() > Date.parse(report.checkedAt)) return;
  const changes = previous ? statusChanges(previous.report, report) : [];
  if (changes.length) {
    await db
      .insertInto('hardening_events')
      .values({
        id: `hev_${randomBytes(10).toString('hex')}`,
        host_id: r.hostId,
        at: report.checkedAt,
        cause: r.type,
        task_id: r.taskId,
        changes: JSON.stringify(changes),
      })
      .execute();
  }
  const row = { report: JSON.stringify(report), task_id: r.taskId, checked_at: report.checkedAt };
  await db
    .insertInto('hardening_hosts')
    .values({ host_id: r.hostId, ...row })
    .onConflict((oc) => oc.column('host_id').doUpdateSet(row))
    .execute();
}

const fromReport =
  <K extends TaskName>(pick: (r: ProjectedResult<K>) => HardeningReport | undefined): ResultProjection<K> =>
  (trx, r) =>
    project(trx, r, pick(r));

/** Every hardening task's report updates the host's last report; an audit's changes are drift. */
export const hardeningProjections: ResultProjections = {
  'hardening.audit': fromReport<'hardening.audit'>((r) => r.output),
  'hardening.apply': fromReport<'hardening.apply'>((r) => r.output?.report),
  'hardening.rollback': fromReport<'hardening.rollback'>((r) => r.output?.report),
};
