import { defineFeature } from '../../agent-feature.js';
import { hardeningHandlers } from './hardening-handlers.js';
import { hardeningHostFromEnv } from './hardening-host.js';

/** Host hardening: audit against the `keycloak-host` profile, apply with a saved before-state, roll back. */
export const hardeningFeature = defineFeature({
  name: 'hardening',
  handlers: hardeningHandlers(hardeningHostFromEnv()),
});
