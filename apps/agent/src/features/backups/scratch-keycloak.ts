import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts, startOnFreePorts, waitReady } from '../keycloak/index.js';
import { scratchLeftovers } from './scratch-leftovers.js';

const run = promisify(execFile);
const READY_TIMEOUT_MS = 5 * 60_000;
const STOP_TIMEOUT_MS = 30_000;
const LOG_LINES = 600;

export interface ScratchKeycloakOptions {
  /** A built (`kc.sh build`) Keycloak home of the backup's version, for this scratch Keycloak alone. */
  home: string;
  javaHome: string;
  /** The scratch database: JDBC URL and credentials. */
  db: { url: string; username: string; password: string };
  /** Where it is recorded while it runs, so that after an agent crash the next start reaps it. */
  stateDir: string;
  signal: AbortSignal;
  /** Why it starts again on new ports (one of its own was taken before it bound it), for the drill's progress. */
  note?(why: string): void;
  /** Chooses its two loopback ports (HTTP, management); free ones unless a test hands it a taken one. */
  ports?(): Promise<number[]>;
}

const EXITED = 'Keycloak will not become ready: it exited';

/**
 * A throw-away Keycloak on a restored scratch database, on loopback only (free ports, nothing
 * public). Its admin is a service client that `kc.sh bootstrap-admin` adds to the scratch copy
 * before the start: the backed-up admin's password is not known here, and the bootstrap admin
 * variables of a start only apply to a database without a master realm.
 */
export class ScratchKeycloak {
  private constructor(
    private readonly child: ChildProcess,
    private readonly stateDir: string,
    readonly baseUrl: string,
    readonly admin: { clientId: string; secret: string },
    /** From the start until /health/ready said UP and the public listener answered. */
    readonly readyMs: number,
  ) {}

  /**
   * A port can be taken between its choice and Keycloak's bind (another process, an outgoing
   * connection): that start is repeated on new ports rather than failing the drill's `keycloak`
   * check on a good backup. `bootstrap-admin` runs once, before the first start: run again it
   * would add a second client to the scratch copy, and with it to the realm export.
   */
  static async start(opts: ScratchKeycloakOptions): Promise<ScratchKeycloak> {
    const choose = opts.ports ?? (() => freePorts(2));
    const ports = await choose();
    const admin = { clientId: `kf-drill-${randomBytes(4).toString('hex')}`, secret: randomBytes(24).toString('base64url') };
    const kcSh = join(opts.home, 'bin', 'kc.sh');
    await run(
      kcSh,
      ['bootstrap-admin', 'service', `--client-id=${admin.clientId}`, '--client-secret:env=KF_DRILL_CLIENT_SECRET', '--optimized', '--no-prompt'],
      {
        cwd: opts.home,
        env: { ...scratchEnv(opts, ports), KF_DRILL_CLIENT_SECRET: admin.secret },
        signal: opts.signal,
        timeout: READY_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((err: Error & { stdout?: string; stderr?: string }) => {
      const out = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim().split('\n').slice(-5).join('\n');
      throw new Error(`kc.sh bootstrap-admin service failed: ${out || err.message}`);
    });
    return startOnFreePorts({
      ports,
      start: (at) => ScratchKeycloak.boot(opts, scratchEnv(opts, at), admin),
      ended: (failure) => (failure.startsWith(EXITED) ? 'Keycloak exited' : undefined),
      choose,
      again: async (_ports, why) => opts.note?.(why),
      signal: opts.signal,
    });
  }

  /** `kc.sh start` on the ports of `env`, until ready; stopped and forgotten again when it is not. */
  private static async boot(opts: ScratchKeycloakOptions, env: NodeJS.ProcessEnv, admin: ScratchKeycloak['admin']): Promise<ScratchKeycloak> {
    const kcSh = join(opts.home, 'bin', 'kc.sh');
    // Its own process group, so the stop reaches the JVM whatever kc.sh did with it.
    const child = spawn(kcSh, ['start', '--optimized'], { cwd: opts.home, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const log: string[] = [];
    const collect = (chunk: Buffer) => {
      log.push(...chunk.toString('utf8').split('\n'));
      if (log.length > LOG_LINES) log.splice(0, log.length - LOG_LINES);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('error', (err) => log.push(`cannot run kc.sh: ${err.message}`));
    try {
      if (child.pid !== undefined) await scratchLeftovers.record(opts.stateDir, child.pid, join(opts.home, 'data'));
      const readyMs = await waitReady({
        managementUrl: `http://127.0.0.1:${env.KC_HTTP_MANAGEMENT_PORT}`,
        baseUrl: env.KC_HOSTNAME!,
        timeoutMs: READY_TIMEOUT_MS,
        signal: opts.signal,
        dead: async () => (child.exitCode !== null || child.signalCode !== null ? `it exited (${child.exitCode ?? child.signalCode})` : undefined),
        logTail: async () => log.join('\n'),
      });
      return new ScratchKeycloak(child, opts.stateDir, env.KC_HOSTNAME!, admin, readyMs);
    } catch (err) {
      await stopGroup(child);
      await scratchLeftovers.forget(opts.stateDir);
      throw err;
    }
  }

  async stop(): Promise<void> {
    await stopGroup(this.child);
    await scratchLeftovers.forget(this.stateDir);
  }
}

/** SIGTERM to the process group, SIGKILL when it has not gone within 30 s. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (child.exitCode !== null || child.signalCode !== null || pid === undefined) return;
  const exited = once(child, 'exit');
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // Gone already.
    }
  };
  signalGroup('SIGTERM');
  const timer = setTimeout(() => signalGroup('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Its environment on `ports` (HTTP, management); in the environment, never argv: the database password stays out of `ps`. */
function scratchEnv(opts: ScratchKeycloakOptions, [httpPort, managementPort]: number[]): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    JAVA_HOME: opts.javaHome,
    KC_DB_URL: opts.db.url,
    KC_DB_USERNAME: opts.db.username,
    KC_DB_PASSWORD: opts.db.password,
    KC_HTTP_ENABLED: 'true',
    KC_HTTP_HOST: '127.0.0.1',
    KC_HTTP_PORT: String(httpPort),
    KC_HTTP_MANAGEMENT_PORT: String(managementPort),
    KC_HOSTNAME: `http://127.0.0.1:${httpPort}`,
    // No clustering: the default would bind 7800 and look for peers, the backed-up host among them.
    KC_CACHE: 'local',
  };
}
