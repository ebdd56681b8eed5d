import type { HardeningRoutes } from '@keyfleet/hub';
import { hc } from 'hono/client';
import type { CliContext } from '../../cli-context.js';
import { hubClientOptions } from '../../hub-client.js';

/** The typed client of the hub's hardening routes (under /v1), from a type-only import of them. */
export function hardeningClient(ctx: CliContext) {
  return hc<HardeningRoutes>(`${ctx.hubUrl}/v1`, hubClientOptions({ hub: ctx.hubUrl, token: ctx.token }));
}
