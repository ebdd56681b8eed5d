import { hc, type ClientResponse } from 'hono/client';
import type { SuccessStatusCode } from 'hono/utils/http-status';
import type { AppType } from '@keyfleet/hub';
import type { CliConfig } from './cli-config.js';

/** A hub refusal or failure, carrying the hub's own message for the operator. */
export class HubError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

export type HubClient = ReturnType<typeof createHubClient>;

/** The hub's typed client: routes and bodies come from a type-only import of the hub's app. */
export function createHubClient(config: CliConfig) {
  return hc<AppType>(config.hub, hubClientOptions(config));
}

/** Bearer token and a clear error when the hub cannot be reached; shared by the features' typed clients. */
export function hubClientOptions(config: CliConfig) {
  return {
    headers: (): Record<string, string> => (config.token ? { authorization: `Bearer ${config.token}` } : {}),
    fetch: async (input: string | URL | Request, init?: RequestInit) => {
      try {
        return await fetch(input, init);
      } catch (err) {
        throw new HubError(`cannot reach the hub at ${config.hub}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`, 0);
      }
    },
  };
}

/** The body type of the 2xx members of a typed client's response union. */
type OkBody<R> = R extends ClientResponse<infer T, infer S, 'json'> ? (S extends SuccessStatusCode ? T : never) : never;

/** Unwraps a response: the JSON body on success, a HubError with the hub's message otherwise. */
export async function expectOk<R extends ClientResponse<unknown, number, 'json'>>(res: R): Promise<OkBody<R>> {
  const body = (await res.json().catch(() => ({ error: `hub answered ${res.status} without a JSON body` }))) as { error?: string; details?: unknown };
  if (!res.ok) {
    const error = body.error ?? `hub answered ${res.status}`;
    throw new HubError(body.details === undefined ? error : `${error}\n${JSON.stringify(body.details, null, 2)}`, res.status);
  }
  return body as OkBody<R>;
}
