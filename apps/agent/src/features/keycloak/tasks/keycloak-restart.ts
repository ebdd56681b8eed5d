import { installedInstance } from '../instance/installed-instance.js';
import { instanceView } from './instance-view.js';
import { saveInstance } from '../instance/instance-store.js';
import { openRuntime } from '../runtime/open-runtime.js';
import type { TaskHandler } from '../../../task-handler.js';

/** Stops (when running) and starts the installed Keycloak, then waits until it is ready. */
export const keycloakRestart: TaskHandler<'keycloak.restart'> = async (_input, ctx) => {
  const record = await installedInstance(ctx.stateDir);
  const runtime = await openRuntime(record.runtime, ctx.stateDir, ctx.log);
  const rctx = { signal: ctx.signal, log: ctx.log, note: (step: string) => ctx.progress(undefined, step) };
  await runtime.stop(record, rctx);
  await runtime.start(record, rctx);
  await saveInstance(ctx.stateDir, { ...record, desiredState: 'running' });
  return { changed: true, instance: await instanceView(record, runtime, ctx.signal) };
};
