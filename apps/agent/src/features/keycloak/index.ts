/**
 * What other agent features may use of the Keycloak feature (backups, TLS, events): the installed
 * instance, its runtime and its admin connection. Everything else in this folder is the feature's own; the
 * import-layers test refuses imports of it from another feature.
 */
export { installedInstance } from './instance/installed-instance.js';
export { keycloakStateDir, loadInstance, saveInstance } from './instance/instance-store.js';
export type { KeycloakInstanceRecord } from './instance/instance-store.js';
export { connectKeycloakAdmin } from './realm/connect-keycloak-admin.js';
export { keycloakBuild } from './runtime/keycloak-build.js';
export type { KeycloakBuild } from './runtime/keycloak-build.js';
export { openRuntime } from './runtime/open-runtime.js';
export { serveCertificate } from './runtime/serve-certificate.js';
// ACME HTTP-01 answers the front serves on the public HTTP port it owns (the tls feature writes them).
export { frontChallenges } from './front/front-challenges.js';
// For scratch Keycloaks outside the instance (the backups drill): loopback ports, the readiness wait
// and the start again on new ports when one was taken first.
export { freePorts } from './runtime/free-port.js';
export { startOnFreePorts } from './runtime/start-on-free-ports.js';
export { waitReady } from './runtime/wait-ready.js';
export type { KeycloakRuntime } from './runtime/keycloak-runtime.js';
// The lifecycle tasks themselves, for features that stop, start and verify Keycloak around their work (restore).
// Install too: a restore onto a host with only the agent installs the backup's version first.
export { keycloakInstall } from './tasks/keycloak-install.js';
export { keycloakStart } from './tasks/keycloak-start.js';
export { keycloakStop } from './tasks/keycloak-stop.js';
export { keycloakVerify } from './tasks/keycloak-verify.js';
// keycloak.update with the backups feature's hooks around a version upgrade (pre-update backup, database rollback).
export { updateKeycloak } from './tasks/keycloak-update.js';
export type { UpgradeHookContext, UpgradeHooks } from './runtime/upgrade-hooks.js';
