/** What the agent knows to reach its Keycloak's admin API (from the installed instance record; never reported). */
export interface KeycloakAccess {
  baseUrl: string;
  adminUser: string;
  adminPassword: string;
}

export interface KeycloakAdminApi {
  get<T>(path: string): Promise<T>;
  /** A partial representation: Keycloak updates only the fields present. */
  put(path: string, body: unknown): Promise<void>;
}

/**
 * The few admin REST calls the posture rules make, logged in once per rule action with admin-cli
 * in the master realm (a rule action takes well under the token's 60 s lifetime).
 */
export async function keycloakAdminApi(access: KeycloakAccess, signal: AbortSignal): Promise<KeycloakAdminApi> {
  const base = access.baseUrl.replace(/\/+$/, '');
  const timeout = () => AbortSignal.any([signal, AbortSignal.timeout(30_000)]);
  const res = await fetch(`${base}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: access.adminUser, password: access.adminPassword }),
    signal: timeout(),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; error_description?: string };
  if (!res.ok || !body.access_token)
    throw new Error(`Keycloak admin login as "${access.adminUser}" at ${base} failed: ${body.error_description ?? `HTTP ${res.status}`}`);
  const headers = { authorization: `Bearer ${body.access_token}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, payload?: unknown) => {
    const r = await fetch(`${base}/admin/realms${path}`, {
      method,
      headers,
      signal: timeout(),
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
    });
    if (!r.ok) throw new Error(`Keycloak admin ${method} ${path}: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
    return r;
  };
  return {
    get: async <T>(path: string) => (await (await call('GET', path)).json()) as T,
    put: async (path, payload) => {
      await call('PUT', path, payload);
    },
  };
}
