export { startNats } from './nats-server.js';
export type { NatsServer } from './nats-server.js';
export { startPostgres } from './postgres-server.js';
export { testPort } from './test-port.js';
export type { PostgresServer } from './postgres-server.js';
export { findBinary } from './find-binary.js';
export { ServiceProcess, repoRoot } from './service-process.js';
export { startHubProcess } from './hub-process.js';
export type { HubProcess } from './hub-process.js';
export { enrollAgent } from './agent-process.js';
export type { AgentProcess } from './agent-process.js';
export {
  createEnrollmentToken,
  expectStatus,
  hubTestClient,
  LiveEventStream,
  parseSse,
  waitForTask,
  waitOptions,
} from './hub-client.js';
export type {
  AgentsRoutes,
  AlertsRoutes,
  AppType,
  BackupsRoutes,
  CertificatesRoutes,
  HubTestClient,
  KeycloakRoutes,
  MetricsRoutes,
  RawRequest,
  RawResponse,
  TaskRequest,
  TypedClient,
} from './hub-client.js';
export { startFleet } from './start-fleet.js';
export type { Fleet } from './start-fleet.js';
export { startKeycloak } from './keycloak-server.js';
export type { KeycloakServer, StartKeycloakOptions } from './keycloak-server.js';
export { ensureKeycloakDist, KEYCLOAK_VERSION } from './keycloak-dist.js';
export type { KeycloakDist } from './keycloak-dist.js';
export { findJavaHome } from './keycloak-java-home.js';
export { ensureKeycloakImage } from './keycloak-image.js';
export type { KeycloakImageOptions } from './keycloak-image.js';
export { startDockerd } from './docker-engine.js';
export type { DockerEngine } from './docker-engine.js';
export { ensurePostgresImage } from './docker-postgres-image.js';
export { buildAgentArtifact } from './agent-artifact.js';
export type { AgentArtifact } from './agent-artifact.js';
export { startS3Server } from './s3-server.js';
export type { S3Server } from './s3-server.js';
export { smallTmpfs } from './small-tmpfs.js';
export type { SmallTmpfs } from './small-tmpfs.js';
export { startPebble } from './pebble-server.js';
export type { PebbleServer } from './pebble-server.js';
export { startKnot } from './knot-server.js';
export type { KnotServer } from './knot-server.js';
export { startMailpit } from './mailpit-server.js';
export type { MailpitMessage, MailpitServer } from './mailpit-server.js';
