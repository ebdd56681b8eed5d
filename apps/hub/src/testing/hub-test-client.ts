// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import type { Hono } from 'hono';
import { hc } from 'hono/client';
import type { AppType } from '../api/create-app.js';

/** The `fetch` a client sends with: the real one for a hub process, `app.request` for an app in process. */
export type TestFetch = (input: string | URL | Request, init?: RequestInit) => Response | Promise<Response>;

/** What a raw request got back, read to its end; `json` is undefined when the body is not JSON. */
export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export interface RawRequest {
  /** Sent as JSON (Content-Type application/json unless `headers` say otherwise); a string is sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Any app or router whose type a typed client can be built from. */
// biome-ignore lint/suspicious/noExplicitAny: the constraint hono's own `hc` puts on an app type.
type AnyRoutes = Hono<any, any, any>;

/** The typed client of an app or router type, as `hc` builds it. */
export type TypedClient<R extends AnyRoutes> = ReturnType<typeof hc<R>>;

/** The body of `POST /v1/tasks`: a union over the declared task types, each with its own params. */
export type TaskRequest = Parameters<TypedClient<AppType>['v1']['tasks']['$post']>[0]['json'];

export interface HubTestClient {
  /** The hub's base URL (a placeholder in process). */
  readonly url: string;
  /** The core API, typed from `AppType`: paths, params, query, bodies and every declared response. */
  readonly api: TypedClient<AppType>;
  /** Routes typed by their own type, mounted at `prefix` (a feature's routes: `routes<KeycloakRoutes>('/v1')`). */
  routes<R extends AnyRoutes>(prefix: string): TypedClient<R>;
  /** The same hub with another bearer token (`undefined` sends none) and, if given, further headers on every request. */
  as(token: string | undefined, headers?: Record<string, string>): HubTestClient;
  /**
   * The escape hatch for requests the typed client cannot make on purpose: any method, path and
   * body (malformed JSON, NUL characters, unknown paths); the answer is read as text and JSON.
   */
  raw(method: string, path: string, req?: RawRequest): Promise<RawResponse>;
}

/**
 * The one client tests use against the hub API: built on hono's `hc` from the app's type, so a
 * request a route does not take and a response field it does not send fail the type check. For a
 * hub process give its URL; for an app in process give `fetch: (input, init) => app.request(input, init)`.
 */
export function hubTestClient(opts: { url: string; token?: string; headers?: Record<string, string>; fetch?: TestFetch }): HubTestClient {
  const headers = (): Record<string, string> => ({ ...opts.headers, ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) });
  const send: TestFetch = opts.fetch ?? fetch;
  const options = { headers, fetch: send as typeof fetch };
  return {
    url: opts.url,
    api: hc<AppType>(opts.url, options),
    routes: <R extends AnyRoutes>(prefix: string) => hc<R>(`${opts.url}${prefix}`, options),
    as: (token, headers) => hubTestClient({ ...opts, token, headers }),
    async raw(method, path, req = {}) {
      const all: Record<string, string> = { ...headers(), ...req.headers };
      let body: string | undefined;
      if (req.body !== undefined) {
        body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
        all['content-type'] ??= 'application/json';
      }
      const res = await send(`${opts.url}${path}`, { method, headers: all, body });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
  };
}
