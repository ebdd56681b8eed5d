import { noop } from './noop.js';
import { keycloakInstall } from './keycloak-install.js';
import { keycloakRestart, keycloakStart, keycloakStatus, keycloakStop } from './keycloak-lifecycle.js';
import { keycloakRealmApply, keycloakRealmPlan } from './keycloak-realm.js';
import { keycloakUpdate } from './keycloak-update.js';
import { keycloakVerify } from './keycloak-verify.js';
import { systemInfo } from './system-info.js';

/** Every declared task type, keyed by its dotted name. Adding a task means adding it here. */
export const taskDefinitions = {
  [noop.name]: noop,
  [systemInfo.name]: systemInfo,
  [keycloakInstall.name]: keycloakInstall,
  [keycloakStart.name]: keycloakStart,
  [keycloakStop.name]: keycloakStop,
  [keycloakRestart.name]: keycloakRestart,
  [keycloakStatus.name]: keycloakStatus,
  [keycloakVerify.name]: keycloakVerify,
  [keycloakUpdate.name]: keycloakUpdate,
  [keycloakRealmPlan.name]: keycloakRealmPlan,
  [keycloakRealmApply.name]: keycloakRealmApply,
} as const;

export type TaskName = keyof typeof taskDefinitions;

export function isTaskName(name: string): name is TaskName {
  return Object.hasOwn(taskDefinitions, name);
}
