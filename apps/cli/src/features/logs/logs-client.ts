import type { LogsRoutes } from '@keyfleet/hub';
import { hc } from 'hono/client';
import type { CliContext } from '../../cli-context.js';
import { hubClientOptions } from '../../hub-client.js';

/** The typed client of the hub's log lines route (under /v1), from a type-only import of it. */
export function logsClient(ctx: CliContext) {
  return hc<LogsRoutes>(`${ctx.hubUrl}/v1`, hubClientOptions({ hub: ctx.hubUrl, token: ctx.token }));
}
