// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import type { ClientResponse } from 'hono/client';
import { expect } from 'vitest';

/** The JSON body a typed response union declares for `status`. */
export type BodyOf<R, S extends number> = R extends ClientResponse<infer T, infer U, infer _F> ? (U extends S ? T : never) : never;

/**
 * Asserts a typed client's response has `status` (the body is in the failure message) and returns
 * its JSON body, typed as the route declares it for that status.
 */
export async function expectStatus<R extends ClientResponse<unknown, number, 'json' | 'text'>, S extends R['status']>(
  response: R | Promise<R>,
  status: S,
): Promise<BodyOf<R, S>> {
  const res = await response;
  const text = await res.text();
  expect(res.status, `${res.status} ${text}`).toBe(status);
  return (text === '' ? undefined : JSON.parse(text)) as BodyOf<R, S>;
}
