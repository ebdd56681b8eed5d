import type { KeycloakEvent } from '@keyfleet/proto/v1';
import type { EventCursor, EventCursors, EventSource } from './event-cursors.js';

/** An event of either list, as far as paging needs it. */
export interface ListedEvent {
  id: string;
  time: number;
}

export interface PullOptions {
  realm: string;
  source: EventSource;
  cursors: EventCursors;
  /** One page of the realm's events from `fromMs` (inclusive), oldest first. */
  page(fromMs: number, first: number, max: number): Promise<ListedEvent[]>;
  /** Turns a listed event into what the hub stores; undefined leaves it out (the cursor still moves past it). */
  record(event: ListedEvent): Promise<KeycloakEvent | undefined>;
  /** Resolves once the hub has stored the batch; throws otherwise (the cursor then stays). */
  send(events: KeycloakEvent[]): Promise<void>;
  now: number;
  /** How far back the first pull of a realm reads. */
  lookbackMs: number;
  pageSize: number;
  /** Pages read per call at most, so one busy realm does not hold the others. */
  maxPages: number;
}

/**
 * Events written within this much of the newest one may still appear (Keycloak's time is taken
 * before its transaction commits, and a cluster has several clocks): each pull reads this far
 * back again and skips the ids it already sent.
 */
export const OVERLAP_MS = 10_000;

/**
 * Sends a realm's new login or admin events to the hub in pages and moves its cursor after each
 * acknowledged page. Returns how many events were sent.
 */
export async function pullRealmEvents(o: PullOptions): Promise<number> {
  let cursor: EventCursor = o.cursors.get(o.realm, o.source) ?? { time: o.now - o.lookbackMs, ids: [] };
  const from = Math.max(0, cursor.time - OVERLAP_MS);
  let sent = 0;
  for (let pageNo = 0; pageNo < o.maxPages; pageNo++) {
    const listed = await o.page(from, pageNo * o.pageSize, o.pageSize);
    const seen = new Set(cursor.ids);
    const fresh = listed.filter((e) => !seen.has(e.id) && e.time >= from);
    if (fresh.length > 0) {
      const records = (await Promise.all(fresh.map((e) => o.record(e)))).filter((r) => r !== undefined);
      if (records.length > 0) await o.send(records);
      sent += records.length;
      cursor = advance(cursor, fresh);
      await o.cursors.set(o.realm, o.source, cursor);
    }
    if (listed.length < o.pageSize) break;
  }
  return sent;
}

/** The cursor after `events` were stored: the newest time, and every id within the overlap of it. */
function advance(cursor: EventCursor, events: ListedEvent[]): EventCursor {
  const time = Math.max(cursor.time, ...events.map((e) => e.time));
  const recent = [...cursor.ids.map((id) => ({ id, time: cursor.time })), ...events].filter((e) => e.time >= time - OVERLAP_MS);
  return { time, ids: [...new Set(recent.map((e) => e.id))] };
}
