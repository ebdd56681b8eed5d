import type { z } from 'zod';
import type { Logger } from '@keyfleet/log';
import type { taskDefinitions, TaskName } from '@keyfleet/proto/v1';
import { keycloakInstall } from './keycloak-install.js';
import { keycloakRealmApply, keycloakRealmPlan } from './keycloak-realm.js';
import { keycloakRestart } from './keycloak-restart.js';
import { keycloakStart } from './keycloak-start.js';
import { keycloakStatus } from './keycloak-status.js';
import { keycloakStop } from './keycloak-stop.js';
import { keycloakUpdate } from './keycloak-update.js';
import { keycloakVerify } from './keycloak-verify.js';
import { noop } from './noop.js';
import { systemInfo } from './system-info.js';

export interface TaskContext {
  /** Aborted on cancel, timeout or agent shutdown; handlers must stop promptly. */
  signal: AbortSignal;
  progress(percent?: number, message?: string): void;
  log: Logger;
  /** The agent's state directory (0700); handlers keep their host-local state below it. */
  stateDir: string;
}

export type TaskHandler<K extends TaskName> = (
  input: z.output<(typeof taskDefinitions)[K]['input']>,
  ctx: TaskContext,
) => Promise<z.input<(typeof taskDefinitions)[K]['output']>>;

/** One handler per declared task type: declaring a type in proto without a handler here fails the type check. */
export type Handlers = { [K in TaskName]: TaskHandler<K> };

export const handlers: Handlers = {
  noop,
  'system.info': systemInfo,
  'keycloak.install': keycloakInstall,
  'keycloak.start': keycloakStart,
  'keycloak.stop': keycloakStop,
  'keycloak.restart': keycloakRestart,
  'keycloak.status': keycloakStatus,
  'keycloak.verify': keycloakVerify,
  'keycloak.update': keycloakUpdate,
  'keycloak.realm.plan': keycloakRealmPlan,
  'keycloak.realm.apply': keycloakRealmApply,
};
