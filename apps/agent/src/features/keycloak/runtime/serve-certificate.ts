import { KeycloakFront } from '../front/keycloak-front.js';
import { agentBaseUrl } from '../instance/agent-base-url.js';
import { frontBackends } from '../instance/front-backends.js';
import { frontOptions } from '../front/front-options.js';
import { installedInstance } from '../instance/installed-instance.js';
import { saveInstance } from '../instance/instance-store.js';
import type { RuntimeContext } from './keycloak-runtime.js';
import { openRuntime } from './open-runtime.js';

/** PEM files just written for the installed Keycloak, and where HTTPS is to be served. */
export interface CertificateFiles {
  httpsPort: number;
  certificateFile: string;
  certificateKeyFile: string;
  /** For a Keycloak without the front: how often it re-reads the files. */
  reloadPeriod: string;
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;
const periodMs = (p: string) => Number(p.slice(0, -1)) * UNIT_MS[p.slice(-1) as keyof typeof UNIT_MS];

/**
 * Makes the installed Keycloak serve the certificate in `files` on the public HTTPS port, and
 * says how soon that can be seen there. Behind the front (the normal case), the front re-reads
 * the files and serves them from the next handshake: no restart, not even the first time, and no
 * clash in an update, where two Keycloaks sit behind one front and neither binds the HTTPS port.
 * A Keycloak from before the front serves HTTPS itself: the first install restarts it once,
 * later ones wait for its reload period.
 */
export async function serveCertificate(
  stateDir: string,
  files: CertificateFiles,
  ctx: RuntimeContext,
): Promise<{ restarted: boolean; servedWithinMs: number }> {
  const record = await installedInstance(stateDir);
  const current = record.config.tls;
  const config = { ...record.config, tls: { ...files, ...(current?.httpEnabled === undefined ? {} : { httpEnabled: current.httpEnabled }) } };
  const backends = frontBackends(record);
  const sameTls =
    current?.certificateFile === files.certificateFile &&
    current.certificateKeyFile === files.certificateKeyFile &&
    current.httpsPort === files.httpsPort &&
    current.reloadPeriod === files.reloadPeriod;
  if (backends) {
    const options = frontOptions(config);
    if (record.desiredState === 'running') {
      const front = KeycloakFront.for(stateDir, ctx.log);
      // A serving front keeps its backends: an update may be switching them right now.
      if (await front.isOpen()) await front.serveTls(options.tls!);
      else await front.open(record, backends, options);
    }
    // Saved only when HTTPS turns on (after the front took it): a renewal writes nothing that an update could be overwriting.
    if (!sameTls) await saveInstance(stateDir, { ...record, config, baseUrl: agentBaseUrl(config, record), updatedAt: new Date().toISOString() });
    return { restarted: false, servedWithinMs: 0 };
  }
  if (sameTls) return { restarted: false, servedWithinMs: periodMs(files.reloadPeriod) };
  const next = { ...record, config, updatedAt: new Date().toISOString() };
  const runtime = await openRuntime(record.runtime, stateDir, ctx.log);
  ctx.note(`restarting Keycloak to serve HTTPS on port ${files.httpsPort}`);
  await runtime.stop(record, ctx);
  await saveInstance(stateDir, next);
  await runtime.start(next, ctx);
  return { restarted: true, servedWithinMs: 60_000 };
}
