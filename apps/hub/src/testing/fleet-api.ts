// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import { createLogger } from '@keyfleet/log';
import { createApp } from '../api/create-app.js';
import { bootstrapAdminToken } from '../auth/bootstrap-admin-token.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { hubFeatures } from '../features/index.js';
import { HubMetrics } from '../metrics/hub-metrics.js';
import { hubTestClient, type HubTestClient } from './hub-test-client.js';
import { RecordingRevoker } from './recording-revoker.js';
import type { TestFleet } from './test-fleet.js';

/**
 * The HTTP API in process on a test fleet's database, driving that fleet's real dispatcher:
 * the typed client, as the initial admin.
 */
export async function fleetApi(fleet: TestFleet, dispatcher: Dispatcher): Promise<HubTestClient> {
  const adminToken = await bootstrapAdminToken(fleet.db);
  if (!adminToken) throw new Error('fleetApi needs a database without API tokens');
  const app = createApp(
    {
      db: fleet.db,
      dispatcher,
      revoker: new RecordingRevoker(),
      authority: fleet.nats.authority,
      natsServers: [fleet.nats.url],
      metrics: new HubMetrics(fleet.db),
      secrets: fleet.secrets,
      natsConnected: () => true,
      log: createLogger('fleet-api', { level: 'silent' }),
    },
    hubFeatures,
  );
  return hubTestClient({ url: 'http://hub.test', token: adminToken, fetch: (input, init) => app.request(input, init) });
}
