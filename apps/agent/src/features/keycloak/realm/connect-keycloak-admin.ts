import type KeycloakAdminClient from '@keycloak/keycloak-admin-client';

/** How the agent reaches a Keycloak's admin API (from the installed instance record). */
export interface KeycloakAdminCredentials {
  /** e.g. http://127.0.0.1:8080 (no /admin, no trailing slash needed). */
  baseUrl: string;
  adminUser: string;
  adminPassword: string;
}

export interface ConnectOptions {
  signal?: AbortSignal;
  /** Bound on each admin request, so a hung Keycloak cannot hold a task. Default 30 s. */
  requestTimeoutMs?: number;
}

// Master realm admin tokens live 60 s by default; renew well before that rather than meet a 401.
const RENEW_MARGIN_MS = 15_000;

/**
 * An admin client for `realm` (its default for every call), logged in to the master realm with
 * admin-cli. The client library neither refreshes tokens nor retries, so this logs in again when
 * the token is about to expire and retries a call once after a 401.
 */
export async function connectKeycloakAdmin(creds: KeycloakAdminCredentials, realm: string, opts: ConnectOptions = {}): Promise<KeycloakAdminClient> {
  const baseUrl = creds.baseUrl.replace(/\/+$/, '');
  // Loaded here only: the idle agent should not carry the admin client.
  const { default: AdminClient, NetworkError } = await import('@keycloak/keycloak-admin-client');
  // Always explicit: the library's default base URL is 127.0.0.1:8180.
  const kc = new AdminClient({ baseUrl, realmName: realm, timeout: opts.requestTimeoutMs ?? 30_000 });

  let token: { value: string; renewAt: number } | undefined = await login(baseUrl, creds, opts);
  kc.registerTokenProvider({
    getAccessToken: async () => {
      if (!token || Date.now() >= token.renewAt) token = await login(baseUrl, creds, opts);
      return token.value;
    },
  });

  const retryOn401 =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (err) {
        if (!(err instanceof NetworkError) || err.response.status !== 401) throw err;
        token = undefined;
        return fn(...args);
      }
    };
  return new Proxy(kc, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      // The client's own methods use private fields, which exist on the target only.
      if (typeof value === 'function') return value.bind(target);
      // Resources (kc.clients, kc.realms, …) are objects whose methods are plain function properties.
      if (typeof value !== 'object' || value === null) return value;
      return new Proxy(value, {
        get(resource, method) {
          const fn: unknown = Reflect.get(resource, method);
          return typeof fn === 'function' ? retryOn401(fn.bind(resource) as (...args: unknown[]) => Promise<unknown>) : fn;
        },
      });
    },
  });
}

async function login(baseUrl: string, creds: KeycloakAdminCredentials, opts: ConnectOptions): Promise<{ value: string; renewAt: number }> {
  opts.signal?.throwIfAborted();
  const started = Date.now();
  const timeout = AbortSignal.timeout(opts.requestTimeoutMs ?? 30_000);
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: creds.adminUser, password: creds.adminPassword }),
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    });
  } catch (err) {
    opts.signal?.throwIfAborted();
    throw new Error(`cannot reach Keycloak at ${baseUrl}: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error_description?: string; error?: string };
  if (!res.ok || !body.access_token) {
    const reason = body.error_description ?? body.error ?? `HTTP ${res.status}`;
    throw new Error(`Keycloak admin login as "${creds.adminUser}" at ${baseUrl} failed: ${reason}`);
  }
  const lifetimeMs = (body.expires_in ?? 60) * 1000;
  return { value: body.access_token, renewAt: started + Math.max(lifetimeMs - RENEW_MARGIN_MS, lifetimeMs / 2) };
}
