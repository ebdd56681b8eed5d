import type { TaskDefinition } from '../define-task.js';
import { agentDiagnostics } from './agent-diagnostics.js';
import { agentUpgrade } from './agent-upgrade.js';
import { backupDrill } from './backup-drill.js';
import { backupRestore } from './backup-restore.js';
import { backupRun } from './backup-run.js';
import { keycloakInstall } from './keycloak-install.js';
import { keycloakRestart, keycloakStart, keycloakStatus, keycloakStop } from './keycloak-lifecycle.js';
import { keycloakRealmApply, keycloakRealmPlan } from './keycloak-realm.js';
import { keycloakUpdate } from './keycloak-update.js';
import { keycloakVerify } from './keycloak-verify.js';
import { hardeningApply } from './hardening-apply.js';
import { hardeningAudit } from './hardening-audit.js';
import { hardeningRollback } from './hardening-rollback.js';
import { maintenanceKeycloakVersion } from './maintenance-keycloak-version.js';
import { maintenanceLogs } from './maintenance-logs.js';
import { maintenanceScan } from './maintenance-scan.js';
import { maintenanceUpdates } from './maintenance-updates.js';
import { noop } from './noop.js';
import { systemInfo } from './system-info.js';
import { tlsChallenge } from './tls-challenge.js';
import { tlsCsr } from './tls-csr.js';
import { tlsInstall } from './tls-install.js';
import { tlsProbe } from './tls-probe.js';

/**
 * Every declared task type. A declaration in this folder that is missing here
 * fails `registry.test.ts`; a registered one without an agent handler fails the
 * agent's type check.
 */
const registered = [
  noop,
  systemInfo,
  agentDiagnostics,
  agentUpgrade,
  keycloakInstall,
  keycloakStart,
  keycloakStop,
  keycloakRestart,
  keycloakStatus,
  keycloakVerify,
  keycloakUpdate,
  keycloakRealmPlan,
  keycloakRealmApply,
  backupRun,
  backupDrill,
  backupRestore,
  tlsCsr,
  tlsChallenge,
  tlsInstall,
  tlsProbe,
  hardeningAudit,
  hardeningApply,
  hardeningRollback,
  maintenanceUpdates,
  maintenanceScan,
  maintenanceKeycloakVersion,
  maintenanceLogs,
] as const;

type Registered = (typeof registered)[number];

/** The declarations keyed by their dotted name. */
export type TaskDefinitions = { [D in Registered as D['name']]: D };

export const taskDefinitions = Object.fromEntries(registered.map((d) => [d.name, d])) as TaskDefinitions;

export type TaskName = keyof TaskDefinitions;

/** The declarations in registry order (the OpenAPI union and `keyfleet tasks types` list them so). */
export const taskDefinitionList: readonly TaskDefinition[] = registered;

export function isTaskName(name: string): name is TaskName {
  return Object.hasOwn(taskDefinitions, name);
}
