import { instanceView } from '../keycloak/instance-view.js';
import { loadInstance } from '../keycloak/instance-store.js';
import { openRuntime } from '../keycloak/open-runtime.js';
import type { TaskHandler } from './index.js';

/** Version, runtime, readiness, uptime and realms of the installed Keycloak; `installed: false` without one. */
export const keycloakStatus: TaskHandler<'keycloak.status'> = async (_input, ctx) => {
  const record = await loadInstance(ctx.stateDir);
  if (!record) return { installed: false };
  const runtime = await openRuntime(record.runtime, ctx.stateDir, ctx.log);
  return { installed: true, instance: await instanceView(record, runtime, ctx.signal, true) };
};
