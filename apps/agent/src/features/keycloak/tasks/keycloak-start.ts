import { installedInstance } from '../instance/installed-instance.js';
import { instanceView } from './instance-view.js';
import { saveInstance } from '../instance/instance-store.js';
import { isReady } from '../verify/is-ready.js';
import { openRuntime } from '../runtime/open-runtime.js';
import type { TaskHandler } from '../../../task-handler.js';

/** Starts the installed Keycloak and waits until it is ready; `changed: false` when it already was. */
export const keycloakStart: TaskHandler<'keycloak.start'> = async (_input, ctx) => {
  const record = await installedInstance(ctx.stateDir);
  const runtime = await openRuntime(record.runtime, ctx.stateDir, ctx.log);
  const ready = (await runtime.status(record)).running && (await isReady(record.managementUrl, ctx.signal));
  if (!ready) await runtime.start(record, { signal: ctx.signal, log: ctx.log, note: (step) => ctx.progress(undefined, step) });
  await saveInstance(ctx.stateDir, { ...record, desiredState: 'running' });
  return { changed: !ready, instance: await instanceView(record, runtime, ctx.signal) };
};
