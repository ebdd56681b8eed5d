import { instanceView } from './instance-view.js';
import { loadInstance } from '../instance/instance-store.js';
import { openRuntime } from '../runtime/open-runtime.js';
import type { TaskHandler } from '../../../task-handler.js';

/** Version, runtime, readiness, uptime and realms of the installed Keycloak; `installed: false` without one. */
export const keycloakStatus: TaskHandler<'keycloak.status'> = async (_input, ctx) => {
  const record = await loadInstance(ctx.stateDir);
  if (!record) return { installed: false };
  const runtime = await openRuntime(record.runtime, ctx.stateDir, ctx.log);
  return { installed: true, instance: await instanceView(record, runtime, ctx.signal, true) };
};
