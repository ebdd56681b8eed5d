import { defineFeature } from '../../agent-feature.js';
import { lazyHandler } from '../../lazy-handler.js';

/** The handlers over this host, built once on the first hardening task (rules, nft and sshd code load only then). */
let handlers: Promise<ReturnType<typeof import('./hardening-handlers.js')['hardeningHandlers']>> | undefined;
const loaded = () =>
  (handlers ??= Promise.all([import('./hardening-handlers.js'), import('./hardening-host.js')]).then(([h, host]) =>
    h.hardeningHandlers(host.hardeningHostFromEnv()),
  ));

/** The maintenance handlers, loaded on the first maintenance task in the same way. */
let maintenance: Promise<ReturnType<typeof import('./maintenance/maintenance-handlers.js')['maintenanceHandlers']>> | undefined;
const maintenanceLoaded = () =>
  (maintenance ??= Promise.all([import('./maintenance/maintenance-handlers.js'), import('./hardening-host.js')]).then(([m, host]) =>
    m.maintenanceHandlers(host.hardeningHostFromEnv()),
  ));

/**
 * Host hardening: audit against the `keycloak-host` profile, apply with a saved before-state, roll
 * back; and the host's upkeep: OS updates, a Lynis scan, the Keycloak version check, log rotation.
 */
export const hardeningFeature = defineFeature({
  name: 'hardening',
  handlers: {
    'hardening.audit': lazyHandler(() => loaded().then((h) => h['hardening.audit'])),
    'hardening.apply': lazyHandler(() => loaded().then((h) => h['hardening.apply'])),
    'hardening.rollback': lazyHandler(() => loaded().then((h) => h['hardening.rollback'])),
    'maintenance.updates': lazyHandler(() => maintenanceLoaded().then((h) => h['maintenance.updates'])),
    'maintenance.scan': lazyHandler(() => maintenanceLoaded().then((h) => h['maintenance.scan'])),
    'maintenance.keycloak-version': lazyHandler(() => maintenanceLoaded().then((h) => h['maintenance.keycloak-version'])),
    'maintenance.logs': lazyHandler(() => maintenanceLoaded().then((h) => h['maintenance.logs'])),
  },
});
