import { DecodeError, decode, messages, subjects } from '@keyfleet/proto/v1';
import { sql } from 'kysely';
import type { HubService } from '../../hub-feature.js';
import { metricsDb } from './metrics-tables.js';

/** Samples written per INSERT; a fleet of 10,000 hosts at 15 s sends ~670 a second. */
const MAX_BATCH = 500;
const FLUSH_MS = 1_000;
/** Past this many waiting samples (database down), new ones are dropped and counted, not queued. */
const MAX_PENDING = 20_000;

type Row = { host_id: string; at: string; series: Record<string, number> };

/** Listeners the alerts feature (or a test) registers to see each stored sample. */
export type SampleListener = (hostId: string, at: Date, series: Record<string, number>) => void;
const listeners = new Set<SampleListener>();
export function onMetricSample(listener: SampleListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Takes the agents' metric samples (queue group: each sample reaches one hub) and stores them in
 * batches. A sample for an unknown or decommissioned host is dropped: the insert joins `hosts`.
 */
export const metricsIngest: HubService = {
  name: 'metrics-ingest',
  async start(deps) {
    const db = metricsDb(deps.db);
    const log = deps.log.child({ service: 'metrics-ingest' });
    let pending: Row[] = [];
    let dropped = 0;
    let flushing: Promise<void> = Promise.resolve();
    const flush = () => {
      flushing = flushing.then(async () => {
        while (pending.length > 0) {
          const batch = pending.slice(0, MAX_BATCH);
          pending = pending.slice(batch.length);
          try {
            // One statement per batch; the join drops samples of hosts the hub does not (or no longer) know.
            await sql`
              INSERT INTO host_metrics (host_id, step_sec, at, series)
              SELECT r.host_id, 0, r.at, r.series
                FROM jsonb_to_recordset(${JSON.stringify(batch)}::jsonb) AS r(host_id text, at timestamptz, series jsonb)
                JOIN hosts h ON h.id = r.host_id
              ON CONFLICT DO NOTHING`.execute(db);
          } catch (err) {
            log.warn({ err, samples: batch.length }, 'could not store metric samples; they are lost');
          }
        }
        if (dropped > 0) {
          log.warn({ dropped }, 'metric samples dropped: the database is not keeping up');
          dropped = 0;
        }
      });
      return flushing;
    };
    const timer = setInterval(() => void flush(), FLUSH_MS);
    const sub = deps.nats.subscribe(subjects.hub.metricsWildcard, {
      queue: `${subjects.hubQueue}-metrics`,
      callback: (err, msg) => {
        if (err) return;
        const hostId = msg.subject.split('.')[3] ?? '';
        try {
          const sample = decode(messages.metrics, msg.data);
          // The subject is the authenticated sender (NATS permissions); the body must agree.
          if (sample.hostId !== hostId) return;
          if (pending.length >= MAX_PENDING) {
            dropped += 1;
            return;
          }
          pending.push({ host_id: hostId, at: sample.at, series: sample.series });
          if (pending.length >= MAX_BATCH) void flush();
          for (const l of listeners) l(hostId, new Date(sample.at), sample.series);
        } catch (e) {
          if (e instanceof DecodeError) log.debug({ hostId, reason: e.reason }, 'malformed metric sample');
          else log.warn({ err: e, hostId }, 'metric sample failed');
        }
      },
    });
    return {
      async stop() {
        sub.unsubscribe();
        clearInterval(timer);
        await flush();
      },
    };
  },
};
