import { defineFeature } from '../../agent-feature.js';
import { frontCommand } from './front/front-command.js';
import { frontWatchdog } from './front/front-watchdog.js';
import { keycloakInstall } from './tasks/keycloak-install.js';
import { keycloakRealmApply, keycloakRealmPlan } from './tasks/keycloak-realm.js';
import { keycloakRestart } from './tasks/keycloak-restart.js';
import { keycloakStart } from './tasks/keycloak-start.js';
import { keycloakStatus } from './tasks/keycloak-status.js';
import { keycloakStop } from './tasks/keycloak-stop.js';
import { keycloakUpdate } from './tasks/keycloak-update.js';
import { keycloakVerify } from './tasks/keycloak-verify.js';

/** Keycloak on this host: install, lifecycle, update, verify and realms as code; the front of a docker-runtime Keycloak. */
export const keycloakFeature = defineFeature({
  name: 'keycloak',
  handlers: {
    'keycloak.install': keycloakInstall,
    'keycloak.start': keycloakStart,
    'keycloak.stop': keycloakStop,
    'keycloak.restart': keycloakRestart,
    'keycloak.status': keycloakStatus,
    'keycloak.verify': keycloakVerify,
    'keycloak.update': keycloakUpdate,
    'keycloak.realm.plan': keycloakRealmPlan,
    'keycloak.realm.apply': keycloakRealmApply,
  },
  services: [frontWatchdog],
  commands: frontCommand,
});
