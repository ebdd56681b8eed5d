import { adminCredentials } from '../instance/admin-credentials.js';
import { checkKeycloakConfig } from '../instance/check-keycloak-config.js';
import { configHash } from '../instance/config-hash.js';
import { loadInstance, saveInstance, type KeycloakInstanceRecord } from '../instance/instance-store.js';
import { withInstalledCertificate } from '../instance/with-installed-certificate.js';
import { instanceView } from './instance-view.js';
import { isReady } from '../verify/is-ready.js';
import { openRuntime } from '../runtime/open-runtime.js';
import { verifyFailure } from '../verify/verify-failure.js';
import { verifyKeycloak } from '../verify/verify-keycloak.js';
import type { TaskHandler } from '../../../task-handler.js';

/**
 * Installs Keycloak as configured and verifies it. Idempotent: the same config on a running,
 * ready instance changes nothing (`changed: false`); a stopped one is started. Fails when the
 * verification after the install fails, with every failed check in the message.
 */
export const keycloakInstall: TaskHandler<'keycloak.install'> = async (config, ctx) => {
  checkKeycloakConfig(config);
  const steps: string[] = [];
  const rctx = {
    signal: ctx.signal,
    log: ctx.log,
    note: (step: string, detail?: string) => {
      const line = detail ? `${step}: ${detail}` : step;
      steps.push(line);
      ctx.progress(undefined, line);
    },
  };
  const previous = await loadInstance(ctx.stateDir);
  const runtime = await openRuntime(config.runtime, ctx.stateDir, ctx.log);
  const hash = configHash(config);
  let changed = true;
  let record: KeycloakInstanceRecord;
  if (previous && previous.runtime === config.runtime && previous.configHash === hash) {
    const running = (await runtime.status(previous)).running && (await isReady(previous.managementUrl, ctx.signal));
    if (running) {
      changed = false;
      rctx.note(`configuration unchanged (hash ${hash.slice(0, 12)}); Keycloak ${previous.version} running and ready`);
    } else {
      rctx.note(`configuration unchanged (hash ${hash.slice(0, 12)}); Keycloak was not running: starting it`);
      await runtime.start(previous, rctx);
    }
    // verifyLogin is not part of the hash; keep the latest one.
    record = { ...previous, config: withInstalledCertificate(config, previous), desiredState: 'running' };
  } else {
    if (previous && previous.runtime !== config.runtime) {
      if (await (await openRuntime(previous.runtime, ctx.stateDir, ctx.log)).stop(previous, rctx)) {
        rctx.note(`stopped the ${previous.runtime}-runtime Keycloak (this install switches to ${config.runtime})`);
      }
    }
    record = await runtime.install(withInstalledCertificate(config, previous), previous, rctx);
    Object.assign(record, adminCredentials(config, previous));
  }
  await saveInstance(ctx.stateDir, record);
  const report = await verifyKeycloak(record, config.verifyLogin, ctx.signal);
  if (!report.ok) throw new Error(verifyFailure(report, `Keycloak ${changed ? 'installed' : 'unchanged'}, but its verification failed`));
  return { changed, instance: await instanceView(record, runtime, ctx.signal), steps, verify: report };
};
