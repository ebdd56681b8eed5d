import type { LogLine } from '@keyfleet/proto/v1';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../store/database.js';
import { LOG_LEVELS } from './log-levels.js';
import { logsDb } from './logs-tables.js';

/**
 * Stores a host's log lines in one statement and returns how many were new: a line already stored
 * (same host, stream and offset) is skipped, and nothing is stored for a host the hub does not
 * know. Lines the agent dropped become one warning line of their own, so a reader sees the gap.
 */
export async function storeLogLines(coreDb: Kysely<Database>, hostId: string, lines: readonly LogLine[], dropped = 0, now = new Date()): Promise<number> {
  const rows = lines.map((l) => ({ host_id: hostId, stream: l.stream, pos: l.pos, source: l.source, at: l.at, level: LOG_LEVELS[l.level], line: l.line }));
  if (dropped > 0) {
    rows.push({
      host_id: hostId,
      stream: 'dropped',
      pos: now.getTime(),
      source: 'agent',
      at: now.toISOString(),
      level: LOG_LEVELS.warn,
      line: `keyfleet: the agent dropped ${dropped} log line(s) under pressure`,
    });
  }
  if (rows.length === 0) return 0;
  const res = await sql`
    INSERT INTO host_logs (host_id, stream, pos, source, at, level, line)
    SELECT r.host_id, r.stream, r.pos, r.source, r.at, r.level, r.line
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(host_id text, stream text, pos bigint, source text,
           at timestamptz, level smallint, line text)
      JOIN hosts h ON h.id = r.host_id
    ON CONFLICT DO NOTHING`.execute(logsDb(coreDb));
  return Number(res.numAffectedRows ?? 0);
}
