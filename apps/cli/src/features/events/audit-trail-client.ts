import type { AuditTrailRoutes } from '@keyfleet/hub';
import { hc } from 'hono/client';
import type { CliContext } from '../../cli-context.js';
import { hubClientOptions } from '../../hub-client.js';

/** The typed client of the hub's audit trail route (under /v1), from a type-only import of it. */
export function auditTrailClient(ctx: CliContext) {
  return hc<AuditTrailRoutes>(`${ctx.hubUrl}/v1`, hubClientOptions({ hub: ctx.hubUrl, token: ctx.token }));
}
