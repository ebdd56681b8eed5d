// The typed test client of the hub API lives with the hub (apps/hub/src/testing), built on hono's hc
// from the hub's own route types. The hub's tests use this harness, so the harness reaches that
// folder by path: a package dependency on @keyfleet/hub would be a cycle.
export {
  createEnrollmentToken,
  expectStatus,
  hubTestClient,
  LiveEventStream,
  parseSse,
  waitForTask,
  waitOptions,
} from '../../../apps/hub/src/testing/index.js';
export type { HubTestClient, RawRequest, RawResponse, TaskRequest, TypedClient } from '../../../apps/hub/src/testing/index.js';
export type { AgentsRoutes, AppType, BackupsRoutes, CertificatesRoutes, KeycloakRoutes, MetricsRoutes } from '../../../apps/hub/src/index.js';
export type { AlertsRoutes } from '../../../apps/hub/src/features/alerts/alerts-routes.js';
