import type { KeycloakEvent } from '@keyfleet/proto/v1';

/** A login event as Keycloak's admin REST lists it (`GET /admin/realms/{realm}/events`). */
export interface RawLoginEvent {
  id?: string;
  time: number;
  type?: string;
  clientId?: string;
  userId?: string;
  ipAddress?: string;
  error?: string;
  details?: Record<string, string>;
}

/** An admin event as Keycloak lists it (`GET /admin/realms/{realm}/admin-events`); its representation is never read. */
export interface RawAdminEvent {
  id?: string;
  time: number;
  operationType?: string;
  resourceType?: string;
  resourcePath?: string;
  error?: string;
  authDetails?: { realmId?: string; clientId?: string; userId?: string; ipAddress?: string };
}

/** Names Keycloak gives to who did something: users and clients by id, realms by id. */
export interface KeycloakNames {
  user(realm: string, id: string): Promise<string | undefined>;
  client(realm: string, id: string): Promise<string | undefined>;
  realm(id: string): string | undefined;
}

// A detail whose name says it may carry a credential, or a one-time code, never leaves the host.
const SECRET_DETAIL = /secret|passw|token|code|credential|assertion|otp|key/i;
const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Keycloak's login event as the hub stores it: named actor, details without anything secret. */
export async function loginEventRecord(realm: string, e: RawLoginEvent & { id: string }, names: KeycloakNames): Promise<KeycloakEvent> {
  const details = Object.entries(e.details ?? {})
    .filter(([k, v]) => !SECRET_DETAIL.test(k) && typeof v === 'string')
    .slice(0, 30)
    .map(([k, v]) => [cut(k, 100), cut(v, 1000)] as const);
  const typedName = e.details?.username;
  const actor = typedName ?? (e.userId ? ((await names.user(realm, e.userId)) ?? e.userId) : undefined);
  return compact({
    source: 'login',
    id: e.id,
    realm,
    at: new Date(e.time).toISOString(),
    type: cut(e.type ?? 'UNKNOWN', 200),
    actor: actor === undefined ? undefined : cut(actor, 300),
    clientId: e.clientId ? cut(e.clientId, 255) : undefined,
    ip: e.ipAddress ? cut(e.ipAddress, 100) : undefined,
    error: e.error ? cut(e.error, 200) : undefined,
    details: details.length > 0 ? Object.fromEntries(details) : undefined,
  });
}

/** Keycloak's admin event as the hub stores it: who (`admin@master`), what, through which client. */
export async function adminEventRecord(realm: string, e: RawAdminEvent & { id: string }, names: KeycloakNames): Promise<KeycloakEvent> {
  const auth = e.authDetails ?? {};
  const authRealm = auth.realmId ? (names.realm(auth.realmId) ?? auth.realmId) : undefined;
  const user = auth.userId && authRealm ? ((await names.user(authRealm, auth.userId)) ?? auth.userId) : auth.userId;
  const client = auth.clientId && authRealm ? ((await names.client(authRealm, auth.clientId)) ?? auth.clientId) : auth.clientId;
  return compact({
    source: 'admin',
    id: e.id,
    realm,
    at: new Date(e.time).toISOString(),
    type: cut(`${e.operationType ?? 'ACTION'} ${e.resourceType ?? ''}`.trim(), 200),
    actor: user ? cut(authRealm && authRealm !== realm ? `${user}@${authRealm}` : user, 300) : undefined,
    clientId: client ? cut(client, 255) : undefined,
    ip: auth.ipAddress ? cut(auth.ipAddress, 100) : undefined,
    error: e.error ? cut(e.error, 200) : undefined,
    resource: e.resourcePath ? cut(e.resourcePath, 1000) : undefined,
  });
}

/** Leaves out absent fields, so a batch carries only what Keycloak said. */
function compact(event: KeycloakEvent): KeycloakEvent {
  return Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined)) as KeycloakEvent;
}
