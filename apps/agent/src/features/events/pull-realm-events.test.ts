import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeycloakEvent } from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventCursors } from './event-cursors.js';
import { type ListedEvent, OVERLAP_MS, pullRealmEvents } from './pull-realm-events.js';

/** A realm's event list as Keycloak pages it: from a time (inclusive), oldest first. */
function keycloakList() {
  const events: ListedEvent[] = [];
  return {
    events,
    add: (id: string, time: number) => events.push({ id, time }),
    page: async (fromMs: number, first: number, max: number) =>
      events
        .filter((e) => e.time >= fromMs)
        .sort((a, b) => a.time - b.time)
        .slice(first, first + max),
  };
}

describe('pullRealmEvents', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-events-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const now = 1_800_000_000_000;
  const pull = (cursors: EventCursors, list: ReturnType<typeof keycloakList>, send: (events: KeycloakEvent[]) => Promise<void>, pageSize = 2) =>
    pullRealmEvents({
      realm: 'shop',
      source: 'login',
      cursors,
      page: list.page,
      record: async (e) => ({ source: 'login', id: e.id, realm: 'shop', at: new Date(e.time).toISOString(), type: 'LOGIN' }),
      send,
      now,
      lookbackMs: 60_000,
      pageSize,
      maxPages: 10,
    });

  it('sends each event once across pulls and restarts, pages through bursts, and reads late arrivals within the overlap', async () => {
    const list = keycloakList();
    const sent: string[] = [];
    const send = async (events: KeycloakEvent[]) => {
      sent.push(...events.map((e) => e.id));
    };
    list.add('too-old', now - 120_000);
    for (const [i, t] of [now - 5000, now - 5000, now - 5000, now - 4000, now - 3000].entries()) list.add(`a${i}`, t);
    const cursors = await EventCursors.open(dir);
    expect(await pull(cursors, list, send)).toBe(5);
    expect(sent).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);

    // Nothing new: nothing sent, even though the overlap reads the same events again.
    expect(await pull(cursors, list, send)).toBe(0);
    // An event committed late with an earlier time than the newest one sent, and a new one.
    list.add('late', now - 3500);
    list.add('b0', now - 1000);
    // A restarted agent reads its cursors from the state dir.
    expect(await pull(await EventCursors.open(dir), list, send)).toBe(2);
    expect(sent.slice(5).sort()).toEqual(['b0', 'late']);
    expect(new Set(sent).size).toBe(sent.length);
  });

  it('keeps its place when the hub does not store a batch, and sends it again next time', async () => {
    const list = keycloakList();
    list.add('x0', now - 2000);
    list.add('x1', now - 1000);
    const cursors = await EventCursors.open(join(dir, 'refused'));
    await expect(
      pull(cursors, list, async () => {
        throw new Error('the hub could not store the events now');
      }),
    ).rejects.toThrow('could not store');
    expect(cursors.get('shop', 'login')).toBeUndefined();
    const sent: string[] = [];
    expect(await pull(cursors, list, async (events) => void sent.push(...events.map((e) => e.id)))).toBe(2);
    expect(sent).toEqual(['x0', 'x1']);
    // An event the agent leaves out is not sent, and not read again either.
    list.add('own-login', now + 500);
    const dropped = await pullRealmEvents({
      realm: 'shop',
      source: 'login',
      cursors,
      page: list.page,
      record: async () => undefined,
      send: async () => {
        throw new Error('nothing to send');
      },
      now,
      lookbackMs: 60_000,
      pageSize: 2,
      maxPages: 10,
    });
    expect(dropped).toBe(0);
    expect(cursors.get('shop', 'login')?.time).toBe(now + 500);
    // Ids older than the overlap are forgotten: the cursor stays small in a busy realm.
    list.add('y0', now + OVERLAP_MS + 5000);
    await pull(cursors, list, async () => {});
    expect(cursors.get('shop', 'login')).toEqual({ time: now + OVERLAP_MS + 5000, ids: ['y0'] });
  });
});
