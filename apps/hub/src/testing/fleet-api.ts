// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import { createLogger } from '@keyfleet/log';
import { createApp } from '../api/create-app.js';
import { bootstrapAdminToken } from '../auth/bootstrap-admin-token.js';
import { hubFeatures } from '../features/index.js';
import { HubMetrics } from '../metrics/hub-metrics.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { RecordingRevoker } from './test-context.js';
import type { TestFleet } from './test-fleet.js';

export interface FleetApi {
  adminToken: string;
  /** A request as the initial admin; `json` is the parsed body (`any` keeps assertions short). */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
}

/** The HTTP API in process on a test fleet's database, driving that fleet's real dispatcher. */
export async function fleetApi(fleet: TestFleet, dispatcher: Dispatcher): Promise<FleetApi> {
  const adminToken = await bootstrapAdminToken(fleet.db);
  if (!adminToken) throw new Error('fleetApi needs a database without API tokens');
  const app = createApp({
    db: fleet.db,
    dispatcher,
    revoker: new RecordingRevoker(),
    authority: fleet.nats.authority,
    natsServers: [fleet.nats.url],
    metrics: new HubMetrics(fleet.db),
    secrets: fleet.secrets,
    natsConnected: () => true,
    log: createLogger('fleet-api', { level: 'silent' }),
  }, hubFeatures);
  return {
    adminToken,
    async call(method, path, body) {
      const res = await app.request(path, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: await res.json() };
    },
  };
}
