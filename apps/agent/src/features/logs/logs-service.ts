import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FeatureService } from '../../agent-feature.js';
import { keycloakStateDir, loadInstance } from '../keycloak/index.js';
import { DOCKER_LOG_FILE, DockerLogMirror } from './docker-log-mirror.js';
import type { LogShipper, ShippedFile } from './log-shipper.js';

const DEFAULT_INTERVAL_MS = 5_000;

/**
 * The files shipped: the agent's own log (written there when `keyfleet-agent supervise` runs it),
 * the logs of the process runtime's Keycloak, one per slot, and a docker Keycloak's, which logs to
 * the engine and is mirrored into a file first (DockerLogMirror).
 */
export const shippedFiles = (stateDir: string): ShippedFile[] => [
  { path: join(stateDir, 'agent.log'), source: 'agent' },
  ...['keycloak.log', 'keycloak-a.log', 'keycloak-b.log', DOCKER_LOG_FILE].map((name) => ({
    path: join(keycloakStateDir(stateDir), name),
    source: 'keycloak' as const,
  })),
];

/**
 * Ships Keycloak's log and the agent's own to the hub (see LogShipper). Reading goes on while
 * the agent is offline, so lines that overflow the queue are counted. `KEYFLEET_LOGS_INTERVAL_MS`
 * sets the interval (0 turns shipping off).
 */
export const logsService: FeatureService = {
  name: 'logs',
  async start(ctx) {
    const intervalMs = Number(process.env.KEYFLEET_LOGS_INTERVAL_MS ?? DEFAULT_INTERVAL_MS);
    if (!(intervalMs > 0)) return { stop: async () => {} };
    const stopped = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stopped.signal]);
    const files = shippedFiles(ctx.stateDir);
    const loop = (async () => {
      // The shipper loads with the first log file: an agent with none stays small.
      let shipper: LogShipper | undefined;
      let mirror: DockerLogMirror | undefined;
      while (!signal.aborted) {
        try {
          const record = await loadInstance(ctx.stateDir);
          if (record?.runtime === 'docker') {
            mirror ??= new DockerLogMirror(ctx.stateDir, ctx.log);
            await mirror.pullOnce();
          }
          if (
            !shipper &&
            (
              await Promise.all(
                files.map((f) =>
                  stat(f.path).then(
                    () => true,
                    () => false,
                  ),
                ),
              )
            ).some(Boolean)
          ) {
            shipper = await (await import('./start-log-shipper.js')).startLogShipper(ctx, files);
          }
          await shipper?.readOnce();
          if (ctx.connected()) await shipper?.sendAll();
        } catch (err) {
          ctx.log.warn({ reason: (err as Error).message }, 'log shipping failed; retrying next interval');
        }
        await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
      }
    })();
    return {
      stop: async () => {
        stopped.abort();
        await loop;
      },
    };
  },
};
