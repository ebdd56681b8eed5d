import { decode, type EventsAck, encode, type KeycloakEvent, messages, subjects } from '@keyfleet/proto/v1';
import type { ServiceContext } from '../../agent-feature.js';
import { connectKeycloakAdmin, loadInstance } from '../keycloak/index.js';
import type { EventCursors } from './event-cursors.js';
import { adminEventRecord, type KeycloakNames, loginEventRecord, type RawAdminEvent, type RawLoginEvent } from './keycloak-event-record.js';
import { type ListedEvent, pullRealmEvents } from './pull-realm-events.js';

const PAGE_SIZE = 500;
const MAX_PAGES = 20;
const LOOKBACK_MS = 24 * 3600_000;
/** Keycloak keeps stored login events forever unless told otherwise; the hub holds the history. */
const KEYCLOAK_EVENTS_EXPIRATION_SEC = 7 * 86_400;
const REQUEST_TIMEOUT_MS = 15_000;

/** One pass over the installed Keycloak's realms: settings checked once, new events sent in acknowledged batches. */
export class KeycloakEventPuller {
  private admin: { key: string; kc: Awaited<ReturnType<typeof connectKeycloakAdmin>> } | undefined;
  /** Realms whose event settings were checked by this process. */
  private readonly checked = new Set<string>();
  /** Ids to names; bounded, since a busy realm names many users. */
  private readonly names = new Map<string, string | undefined>();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly cursors: EventCursors,
  ) {}

  async pullOnce(signal: AbortSignal): Promise<void> {
    const instance = await loadInstance(this.ctx.stateDir);
    if (!instance) return;
    // One connection for as long as the instance stays the same: each login is a Keycloak event of its own.
    const key = `${instance.baseUrl} ${instance.adminUser} ${instance.configHash}`;
    if (this.admin?.key !== key) {
      this.admin = { key, kc: await connectKeycloakAdmin(instance, 'master', { signal: this.ctx.signal, requestTimeoutMs: REQUEST_TIMEOUT_MS }) };
    }
    const kc = this.admin.kc;
    const realms = await kc.realms.find({ briefRepresentation: true });
    const realmNames = new Map(realms.filter((r) => r.id && r.realm).map((r) => [r.id!, r.realm!]));
    const get = async <T>(path: string): Promise<T | undefined> => {
      const res = await fetch(`${instance.baseUrl.replace(/\/+$/, '')}/admin/realms/${path}`, {
        headers: { authorization: `Bearer ${await kc.getAccessToken()}` },
        signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      if (res.status === 404) return undefined;
      // Keycloak restarted or the token was revoked: log in again on the next pull.
      if (res.status === 401) this.admin = undefined;
      if (!res.ok) throw new Error(`GET /admin/realms/${path.split('?')[0]}: HTTP ${res.status}`);
      return (await res.json()) as T;
    };
    const names: KeycloakNames = {
      realm: (id) => realmNames.get(id),
      user: (realm, id) => this.named(`u:${realm}:${id}`, async () => (await get<{ username?: string }>(`${realm}/users/${id}`))?.username),
      client: (realm, id) => this.named(`c:${realm}:${id}`, async () => (await get<{ clientId?: string }>(`${realm}/clients/${id}`))?.clientId),
    };

    for (const realm of realmNames.values()) {
      signal.throwIfAborted();
      if (!this.checked.has(realm)) {
        const config = await kc.realms.getConfigEvents({ realm });
        if (!config.eventsEnabled || !config.adminEventsEnabled) {
          await kc.realms.updateConfigEvents(
            { realm },
            {
              ...config,
              eventsEnabled: true,
              adminEventsEnabled: true,
              eventsExpiration: config.eventsExpiration ?? KEYCLOAK_EVENTS_EXPIRATION_SEC,
            },
          );
          this.ctx.log.info({ realm }, 'turned on login and admin events in a realm (the audit trail reads them)');
        }
        this.checked.add(realm);
      }
      for (const source of ['login', 'admin'] as const) {
        const path = source === 'login' ? 'events' : 'admin-events';
        await pullRealmEvents({
          realm,
          source,
          cursors: this.cursors,
          page: async (fromMs, first, max) =>
            ((await get<Array<ListedEvent>>(`${encodeURIComponent(realm)}/${path}?dateFrom=${fromMs}&direction=asc&first=${first}&max=${max}`)) ?? []).filter(
              (e) => typeof e.id === 'string' && typeof e.time === 'number',
            ),
          record: async (e) => {
            if (source === 'admin') return adminEventRecord(realm, e as RawAdminEvent & ListedEvent, names);
            const login = e as RawLoginEvent & ListedEvent;
            // The agent's own admin logins (this pull, realm tasks) would fill the trail with noise.
            const own = realm === 'master' && login.clientId === 'admin-cli' && !login.error && login.details?.username === instance.adminUser;
            return own ? undefined : loginEventRecord(realm, login, names);
          },
          send: (events) => this.send(events),
          now: Date.now(),
          lookbackMs: LOOKBACK_MS,
          pageSize: PAGE_SIZE,
          maxPages: MAX_PAGES,
        });
      }
    }
  }

  private async send(events: KeycloakEvent[]): Promise<void> {
    const reply = await this.ctx.requestHub(
      subjects.hub.keycloakEvents(this.ctx.hostId),
      encode(messages.keycloakEvents, { kind: 'keycloak-events', hostId: this.ctx.hostId, events }),
    );
    let ack: EventsAck;
    try {
      ack = decode(messages.eventsAck, reply);
    } catch (err) {
      // The hub answers what it cannot store with a rejection; anything else is reported as it is.
      const reason = (() => {
        try {
          return decode(messages.rejection, reply).reason;
        } catch {
          return (err as Error).message;
        }
      })();
      throw new Error(`the hub did not store the events: ${reason}`);
    }
    this.ctx.log.debug({ sent: events.length, stored: ack.stored }, 'Keycloak events sent');
  }

  private async named(key: string, lookup: () => Promise<string | undefined>): Promise<string | undefined> {
    if (this.names.has(key)) return this.names.get(key);
    if (this.names.size >= 10_000) this.names.clear();
    const name = await lookup().catch(() => undefined);
    this.names.set(key, name);
    return name;
  }
}
