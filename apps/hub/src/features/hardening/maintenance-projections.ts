import type { TaskName } from '@keyfleet/proto/v1';
import type { Kysely } from 'kysely';
import type { ProjectedResult, ResultProjection, ResultProjections } from '../../dispatch/result-projection.js';
import type { Database } from '../../store/database.js';
import { hardeningDb, type MaintenanceTask } from './hardening-tables.js';

/** Keeps the host's last report of the task; one older than the stored one (re-sent late) changes nothing. */
const keepLast =
  <K extends MaintenanceTask & TaskName>(): ResultProjection<K> =>
  async (trx: Kysely<Database>, r: ProjectedResult<K>) => {
    if (r.outcome !== 'succeeded' || !r.output) return;
    const db = hardeningDb(trx);
    // A host removed while its task ran has nowhere to keep the report.
    if (!(await db.selectFrom('hosts').select('id').where('id', '=', r.hostId).executeTakeFirst())) return;
    const checkedAt = (r.output as { checkedAt: string }).checkedAt;
    const row = { report: JSON.stringify(r.output), task_id: r.taskId, checked_at: checkedAt };
    await db
      .insertInto('maintenance_reports')
      .values({ host_id: r.hostId, task_type: r.type, ...row })
      .onConflict((oc) => oc.columns(['host_id', 'task_type']).doUpdateSet(row).where('maintenance_reports.checked_at', '<=', new Date(checkedAt)))
      .execute();
  };

/** Every maintenance task's report is kept per host (its last one), for `keyfleet maintenance`. */
export const maintenanceProjections: ResultProjections = {
  'maintenance.updates': keepLast<'maintenance.updates'>(),
  'maintenance.scan': keepLast<'maintenance.scan'>(),
  'maintenance.keycloak-version': keepLast<'maintenance.keycloak-version'>(),
  'maintenance.logs': keepLast<'maintenance.logs'>(),
};
