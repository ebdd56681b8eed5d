import { randomBytes } from 'node:crypto';
import type { NatsServer } from './nats-server.js';
import { ServiceProcess } from './service-process.js';

export interface HubProcess {
  url: string;
  adminToken: string;
  proc: ServiceProcess;
  /** Kill (SIGKILL by default: a crash) and start again on the same port and database. */
  restart(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

/** `keyfleet-hub serve` as a child process against a real NATS and Postgres. */
export async function startHubProcess(opts: { nats: NatsServer; databaseUrl: string; env?: NodeJS.ProcessEnv }): Promise<HubProcess> {
  const env = {
    KEYFLEET_DATABASE_URL: opts.databaseUrl,
    KEYFLEET_NATS_URL: opts.nats.url,
    KEYFLEET_NATS_AUTH_DIR: opts.nats.files.dir,
    KEYFLEET_HTTP_PORT: '0',
    // One key per hub, kept across its restarts, and never a file in the checkout.
    KEYFLEET_SECRET_KEY: randomBytes(32).toString('hex'),
    ...opts.env,
  };
  let proc = new ServiceProcess('hub', 'apps/hub/src/main.ts', ['serve'], env).start();
  const [, adminToken] = await proc.waitFor(/initial admin token: (kf_\S+)/);
  const [, url] = await proc.waitFor(/hub listening on (\S+)/);
  const port = new URL(url!).port;
  const hub: HubProcess = {
    url: url!,
    adminToken: adminToken!,
    proc,
    async restart(signal = 'SIGKILL') {
      await proc.kill(signal);
      proc = new ServiceProcess('hub', 'apps/hub/src/main.ts', ['serve'], { ...env, KEYFLEET_HTTP_PORT: port }).start();
      hub.proc = proc;
      await proc.waitFor(/hub listening on/);
    },
    async stop() {
      await proc.kill('SIGTERM');
    },
  };
  return hub;
}
