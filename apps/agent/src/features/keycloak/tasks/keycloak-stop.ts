import { installedInstance } from '../instance/installed-instance.js';
import { instanceView } from './instance-view.js';
import { saveInstance } from '../instance/instance-store.js';
import { openRuntime } from '../runtime/open-runtime.js';
import type { TaskHandler } from '../../../task-handler.js';

/** Stops the installed Keycloak; it stays stopped across agent restarts until started again. */
export const keycloakStop: TaskHandler<'keycloak.stop'> = async (_input, ctx) => {
  const record = await installedInstance(ctx.stateDir);
  const runtime = await openRuntime(record.runtime, ctx.stateDir, ctx.log);
  // Recorded first: an agent restarting mid-stop must not bring the front back up.
  await saveInstance(ctx.stateDir, { ...record, desiredState: 'stopped' });
  const wasRunning = await runtime.stop(record, { signal: ctx.signal, log: ctx.log, note: (step) => ctx.progress(undefined, step) });
  return { changed: wasRunning, instance: await instanceView(record, runtime, ctx.signal) };
};
