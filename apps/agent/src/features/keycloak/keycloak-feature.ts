import { defineFeature } from '../../agent-feature.js';
import { lazyHandler } from '../../lazy-handler.js';
import { frontCommand } from './front/front-command.js';
import { frontWatchdog } from './front/front-watchdog.js';

/**
 * Keycloak on this host: install, lifecycle, verify and realms as code; the front of a docker-runtime Keycloak.
 * keycloak.update is registered by the backups feature, which wraps this feature's update with the pre-update backup.
 */
export const keycloakFeature = defineFeature({
  name: 'keycloak',
  handlers: {
    'keycloak.install': lazyHandler(() => import('./tasks/keycloak-install.js').then((m) => m.keycloakInstall)),
    'keycloak.start': lazyHandler(() => import('./tasks/keycloak-start.js').then((m) => m.keycloakStart)),
    'keycloak.stop': lazyHandler(() => import('./tasks/keycloak-stop.js').then((m) => m.keycloakStop)),
    'keycloak.restart': lazyHandler(() => import('./tasks/keycloak-restart.js').then((m) => m.keycloakRestart)),
    'keycloak.status': lazyHandler(() => import('./tasks/keycloak-status.js').then((m) => m.keycloakStatus)),
    'keycloak.verify': lazyHandler(() => import('./tasks/keycloak-verify.js').then((m) => m.keycloakVerify)),
    'keycloak.realm.plan': lazyHandler(() => import('./tasks/keycloak-realm.js').then((m) => m.keycloakRealmPlan)),
    'keycloak.realm.apply': lazyHandler(() => import('./tasks/keycloak-realm.js').then((m) => m.keycloakRealmApply)),
  },
  services: [frontWatchdog],
  commands: frontCommand,
});
