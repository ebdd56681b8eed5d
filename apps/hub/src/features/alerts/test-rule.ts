import { sql } from 'kysely';
import { type AlertHost, alertHosts } from './alert-hosts.js';
import { type AlertRule, selectsHost } from './alert-rule.js';
import type { AlertsDb } from './alerts-tables.js';
import { describeObservation } from './describe-observation.js';
import { evaluateCondition } from './evaluate-rule.js';
import { factObservations, isFactCondition } from './fact-observations.js';
import { metricNamesOf } from './metric-names-of.js';
import { type RuleInterval, RuleReplay } from './rule-replay.js';
import { samplesBefore } from './samples-before.js';

/** A sample older than this is not the host's current data; also how far back the replay goes. */
export const RULE_TEST_HISTORY_SEC = 3600;
const SAMPLE_MAX_AGE_SEC = RULE_TEST_HISTORY_SEC;
/** Fact rules other than host-offline have no stored history: they are evaluated this often over the hour. */
const FACT_STEP_SEC = 60;
/** Hosts whose samples one query loads while replaying (each host has ~240 samples an hour). */
const HOSTS_PER_QUERY = 50;
/** The core's rule for offline, as in alertHosts. */
const MISSED_HEARTBEATS = 3;

export interface RuleTestHost {
  hostId: string;
  hostname: string;
  /** Whether the rule breaches on this host now (with a `for`, it fires once the breach has held that long). */
  wouldFire: boolean;
  observations: Array<{ labels: Record<string, string>; value: number; active: boolean; reason: string }>;
  /** Why nothing was observed (no recent sample, no earlier sample for a rate). */
  note?: string;
  /** What the rule would have done over the last hour: each pending and firing stretch, oldest first. */
  intervals: Array<Omit<RuleInterval, 'from' | 'to'> & { from: string; to: string | null }>;
}

/**
 * Evaluates a rule against the fleet's data, as the evaluator would, without storing an alert or
 * notifying. Now: metric rules on each host's newest sample of the last hour (rates from the
 * sample a window before it), fact rules on what the hub knows now. Over the last hour (`since`
 * to `now`): the lifecycle replayed (`intervals`). `hostIds` narrows the hosts.
 */
export async function testRule(db: AlertsDb, rule: AlertRule, hostIds?: ReadonlySet<string>, now = new Date()): Promise<RuleTestHost[]> {
  const hosts = (await alertHosts(db)).filter((h) => selectsHost(rule, h) && (!hostIds || hostIds.has(h.id)));
  const { condition } = rule;
  const history = await replayHour(db, rule, hosts, now);
  const result = (host: (typeof hosts)[number], observations: ReturnType<typeof evaluateCondition>, note?: string): RuleTestHost => ({
    hostId: host.id,
    hostname: host.hostname,
    wouldFire: (observations ?? []).some((o) => o.active),
    observations: (observations ?? []).map((o) => ({ ...o, reason: describeObservation(condition, o) })),
    ...(note ? { note } : {}),
    intervals: (history.get(host.id) ?? []).map((i) => ({ ...i, from: i.from.toISOString(), to: i.to?.toISOString() ?? null })),
  });

  if (isFactCondition(condition)) {
    const observed = await factObservations(db, condition, hosts);
    return hosts.map((h) => result(h, observed.get(h.id) ?? [], observed.get(h.id)?.length ? undefined : `nothing to observe for ${condition.kind}`));
  }
  const newest = await sql<{ host_id: string; at: Date; series: Record<string, number> }>`
    SELECT DISTINCT ON (host_id) host_id, at, series FROM host_metrics
     WHERE step_sec = 0 AND at > ${new Date(now.getTime() - SAMPLE_MAX_AGE_SEC * 1000)} AND at <= ${now}
     ORDER BY host_id, at DESC`.execute(db);
  const samples = new Map(newest.rows.map((r) => [r.host_id, r]));
  const rated = hosts.filter((h) => samples.has(h.id)).map((h) => ({ hostId: h.id, at: new Date(samples.get(h.id)!.at) }));
  const befores =
    condition.kind === 'rate-ratio'
      ? new Map((await samplesBefore(db, rated, condition.window, metricNamesOf(condition))).map((b, i) => [rated[i]!.hostId, b]))
      : undefined;
  const out: RuleTestHost[] = [];
  for (const h of hosts) {
    const sample = samples.get(h.id);
    if (!sample) {
      out.push(result(h, [], 'no metric sample in the last hour'));
      continue;
    }
    const before = befores?.get(h.id);
    const observations = evaluateCondition(condition, sample.series, before);
    if (!observations)
      out.push(result(h, [], `no earlier sample within the ${condition.kind === 'rate-ratio' ? condition.window : 0}s window: a rate needs two`));
    else out.push(result(h, observations, observations.length ? undefined : 'the sample has none of the rule’s metrics'));
  }
  return out;
}

/**
 * Replays the rule over the hour before `now`, per host: metric rules on every stored raw sample
 * (rates against the oldest sample within their window, as the evaluator does); host-offline from
 * the gaps between samples (an agent sends one every heartbeat interval, so a gap past 3 intervals
 * is what a host-offline alert sees); other facts have no history and are evaluated every minute
 * on the records as they are now.
 */
async function replayHour(db: AlertsDb, rule: AlertRule, hosts: AlertHost[], now: Date): Promise<Map<string, RuleInterval[]>> {
  const { condition } = rule;
  const since = new Date(now.getTime() - SAMPLE_MAX_AGE_SEC * 1000);
  const op = 'op' in condition ? condition.op : condition.kind === 'certificate-expiry' ? '<' : '>';
  const replays = new Map(hosts.map((h) => [h.id, new RuleReplay(rule.for, op)]));
  const out = () => new Map([...replays].map(([id, r]) => [id, r.intervals()]));

  if (condition.kind !== 'host-offline' && isFactCondition(condition)) {
    for (let t = since.getTime() + FACT_STEP_SEC * 1000; t <= now.getTime(); t += FACT_STEP_SEC * 1000) {
      const at = new Date(t);
      const observed = await factObservations(db, condition, hosts, at);
      for (const h of hosts) replays.get(h.id)!.step(at, observed.get(h.id) ?? []);
    }
    return out();
  }

  const known = new Map((await db.selectFrom('hosts').select(['id', 'heartbeat_interval_ms', 'enrolled_at']).execute()).map((h) => [h.id, h]));
  const intervals = new Map([...known].map(([id, h]) => [id, h.heartbeat_interval_ms]));
  for (let i = 0; i < hosts.length; i += HOSTS_PER_QUERY) {
    const chunk = hosts.slice(i, i + HOSTS_PER_QUERY);
    const ids = chunk.map((h) => h.id);
    if (condition.kind === 'host-offline') {
      const lookbackMs = Math.max(...chunk.map((h) => MISSED_HEARTBEATS * (intervals.get(h.id) ?? 15_000)));
      const rows = await sql<{ host_id: string; at: Date }>`
        SELECT host_id, at FROM host_metrics
         WHERE step_sec = 0 AND host_id = ANY(${ids}) AND at > ${new Date(since.getTime() - lookbackMs)} AND at <= ${now}
         ORDER BY host_id, at`.execute(db);
      const times = groupBy(rows.rows, (r) => new Date(r.at));
      for (const h of chunk) {
        const list = times.get(h.id) ?? [];
        // Samples may come less often than heartbeats: a gap counts from 3 of whichever is longer.
        const every = Math.max(intervals.get(h.id) ?? 15_000, medianGap(list));
        // A host enrolled within the hour was not offline before it existed.
        const enrolled = known.get(h.id)?.enrolled_at;
        const from = enrolled && new Date(enrolled) > since ? new Date(enrolled) : since;
        replayOffline(replays.get(h.id)!, list, h.offline, MISSED_HEARTBEATS * every, from, now);
      }
      continue;
    }
    const windowMs = condition.kind === 'rate-ratio' ? condition.window * 1000 : 0;
    // Only the series the rule reads: a sample holds ~30, a rule reads one to three.
    const rows = await sql<{ host_id: string; at: Date; series: Record<string, number> }>`
      SELECT host_id, at,
             (SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb) FROM jsonb_each(series)
               WHERE split_part(key, '{', 1) = ANY(${metricNamesOf(condition)})) AS series
        FROM host_metrics
       WHERE step_sec = 0 AND host_id = ANY(${ids}) AND at > ${new Date(since.getTime() - windowMs)} AND at <= ${now}
       ORDER BY host_id, at`.execute(db);
    const samples = groupBy(rows.rows, (r) => ({ at: new Date(r.at), series: r.series }));
    for (const h of chunk) {
      const list = samples.get(h.id) ?? [];
      const replay = replays.get(h.id)!;
      let first = 0;
      for (const s of list) {
        if (s.at <= since) continue;
        // The oldest sample within the window before this one: where the evaluator starts a rate.
        while (first < list.length && list[first]!.at.getTime() < s.at.getTime() - windowMs) first += 1;
        const before = condition.kind === 'rate-ratio' && list[first]!.at < s.at ? list[first]!.series : undefined;
        replay.step(s.at, evaluateCondition(condition, s.series, before));
      }
    }
  }
  return out();
}

/**
 * host-offline over the hour from the times of a host's samples: offline from 3 heartbeat
 * intervals after a sample until the next one (or until now). A host with no sample since `since`
 * (the hour's start, or its enrollment) was offline all along if it is offline now; otherwise there
 * is nothing to replay.
 */
function replayOffline(replay: RuleReplay, times: Date[], offlineNow: boolean, deadlineMs: number, since: Date, now: Date): void {
  const offline = [{ labels: {}, value: 1, active: true }];
  const online = [{ labels: {}, value: 0, active: false }];
  if (times.length === 0) {
    if (offlineNow) replay.step(since, offline);
    return;
  }
  for (let i = 0; i < times.length; i++) {
    const t = times[i]!;
    if (t > since) replay.step(t, online);
    const next = times[i + 1] ?? now;
    const deadline = new Date(t.getTime() + deadlineMs);
    if (deadline < next && next > since) replay.step(deadline < since ? since : deadline, offline);
  }
}

/** The usual time between a host's samples (0 with fewer than two): its sampling interval, robust to the gaps being looked for. */
function medianGap(times: Date[]): number {
  const gaps = times.slice(1).map((t, i) => t.getTime() - times[i]!.getTime());
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)] ?? 0;
}

function groupBy<R extends { host_id: string }, T>(rows: R[], map: (r: R) => T): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const list = out.get(r.host_id);
    if (list) list.push(map(r));
    else out.set(r.host_id, [map(r)]);
  }
  return out;
}
