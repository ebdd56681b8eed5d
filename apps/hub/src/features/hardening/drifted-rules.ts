import { type Kysely, sql } from 'kysely';

export interface DriftedRule {
  hostId: string;
  rule: string;
}

/**
 * The rules that fail (or error) on each host now and stopped passing because an audit found
 * them changed, not because an operator's apply or rollback changed them: drift. A rule that never
 * passed is not drift (it was never hardened), and one an operator rolled back is their choice.
 * Read from the recorded status changes: the newest change of the rule away from `pass` says why
 * its current failing streak began. `hostIds` limits the answer (empty: none).
 */
// Any view of the hub's database will do (the alerts feature passes its own): the query is raw SQL.
// biome-ignore lint/suspicious/noExplicitAny: the tables it reads are named in the SQL itself
export async function driftedRules(db: Kysely<any>, hostIds: string[]): Promise<DriftedRule[]> {
  if (hostIds.length === 0) return [];
  const { rows } = await sql<{ host_id: string; rule: string; cause: string }>`
    WITH failing AS (
      SELECT h.host_id, f->>'rule' AS rule
      FROM hardening_hosts h, jsonb_array_elements(h.report->'findings') f
      WHERE f->>'status' IN ('fail', 'error')
    ), left_pass AS (
      SELECT DISTINCT ON (e.host_id, c->>'rule') e.host_id, c->>'rule' AS rule, e.cause
      FROM hardening_events e, jsonb_array_elements(e.changes) c
      WHERE c->>'from' = 'pass'
      ORDER BY e.host_id, c->>'rule', e.at DESC, e.id DESC
    )
    SELECT failing.host_id, failing.rule, left_pass.cause
    FROM failing JOIN left_pass ON left_pass.host_id = failing.host_id AND left_pass.rule = failing.rule
    WHERE left_pass.cause = 'hardening.audit'
    ORDER BY failing.host_id, failing.rule`.execute(db);
  const wanted = new Set(hostIds);
  return rows.filter((r) => wanted.has(r.host_id)).map((r) => ({ hostId: r.host_id, rule: r.rule }));
}
