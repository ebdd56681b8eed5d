import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureKeycloakDist, keyfleetCacheDir, type KeycloakDist } from './keycloak-dist.js';
import { testPort } from './test-port.js';

const run = promisify(execFile);

export interface StartKeycloakOptions {
  /** JDBC URL of an external database (postgres, mariadb, mysql, mssql, oracle); default: dev-file (H2) in the instance dir. */
  dbUrl?: string;
  dbUsername?: string;
  dbPassword?: string;
  /** Keycloak features to enable (build-time `--features`). */
  features?: string[];
  /** Default true: `kc.sh build` once per build options (cached), then `start --optimized`. false: `start-dev`. */
  optimized?: boolean;
  adminUser?: string;
  /** Default: a random password. */
  adminPassword?: string;
  /** How long to wait for /health/ready. Default 240 s: a first start on two busy cores takes up to ~90 s. */
  readyTimeoutMs?: number;
  version?: string;
}

export interface KeycloakServer {
  /** e.g. http://127.0.0.1:41234 (no trailing slash, no /auth). */
  baseUrl: string;
  /** Serves /health/ready and /metrics. */
  managementUrl: string;
  adminUser: string;
  adminPassword: string;
  /** The kc.sh launcher (leader of the server's process group); undefined for an external server. */
  pid: number | undefined;
  /** Launch to ready, in ms; 0 for an external server. */
  startupMs: number;
  /** Resident memory of the server's JVM; undefined for an external server. */
  rssBytes(): Promise<number | undefined>;
  /** The last lines the server logged. */
  logTail(lines?: number): string;
  /** SIGTERM (SIGKILL after 30 s), then the instance's private copy of the dist is removed. */
  stop(): Promise<void>;
}

const DB_VENDORS: Record<string, string> = {
  postgresql: 'postgres',
  mariadb: 'mariadb',
  mysql: 'mysql',
  sqlserver: 'mssql',
  oracle: 'oracle',
};

/**
 * Starts a real Keycloak on random loopback ports from a private copy of the cached distribution
 * and waits until /health/ready answers; fails with the last log lines otherwise.
 * With KEYFLEET_TEST_KEYCLOAK_URL (+ _ADMIN_USER, _ADMIN_PASSWORD, _MANAGEMENT_URL) an existing
 * server is used instead and `stop` leaves it running.
 */
export async function startKeycloak(opts: StartKeycloakOptions = {}): Promise<KeycloakServer> {
  const external = externalKeycloak();
  if (external) return external;

  const dist = await ensureKeycloakDist(opts.version);
  const vendor = opts.dbUrl ? dbVendor(opts.dbUrl) : 'dev-file';
  const buildArgs = [
    `--db=${vendor}`,
    '--health-enabled=true',
    '--metrics-enabled=true',
    ...(opts.features?.length ? [`--features=${opts.features.join(',')}`] : []),
  ];
  const optimized = opts.optimized ?? true;
  const source = optimized ? await builtDist(dist, buildArgs) : dist.distDir;

  const instanceDir = await mkdtemp(join(tmpdir(), 'kf-keycloak-'));
  const home = join(instanceDir, 'keycloak');
  // A private copy (~190 MB, a fraction of a second) keeps data/, conf/ and lib/quarkus per instance.
  await run('cp', ['-a', source, home]);

  const [httpPort, managementPort] = [testPort(), testPort()];
  const adminUser = opts.adminUser ?? 'admin';
  const adminPassword = opts.adminPassword ?? randomBytes(18).toString('base64url');
  const runtimeArgs = [
    '--http-enabled=true',
    '--hostname-strict=false',
    '--http-host=127.0.0.1',
    `--http-port=${httpPort}`,
    `--http-management-port=${managementPort}`,
    // The default clustered cache would bind 7800 and look for peers.
    '--cache=local',
  ];
  const args = optimized ? ['start', '--optimized', ...runtimeArgs] : ['start-dev', ...buildArgs, ...runtimeArgs];
  const env: NodeJS.ProcessEnv = {
    ...withoutKeycloakEnv(process.env),
    JAVA_HOME: dist.javaHome,
    KC_BOOTSTRAP_ADMIN_USERNAME: adminUser,
    KC_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
    // In the environment, not argv: a JDBC URL or password must not show in `ps`.
    ...(opts.dbUrl ? { KC_DB_URL: opts.dbUrl } : {}),
    ...(opts.dbUsername ? { KC_DB_USERNAME: opts.dbUsername } : {}),
    ...(opts.dbPassword ? { KC_DB_PASSWORD: opts.dbPassword } : {}),
  };

  const logFile = createWriteStream(join(instanceDir, 'keycloak.log'));
  const recent: string[] = [];
  const collect = (chunk: Buffer) => {
    logFile.write(chunk);
    // Stack frames would crowd the reason out of a short tail; the log file keeps them.
    recent.push(
      ...chunk
        .toString()
        .split('\n')
        .filter((l) => l.trim() !== '' && !/^\s+(at |\.\.\. \d+ more)/.test(l)),
    );
    if (recent.length > 400) recent.splice(0, recent.length - 400);
  };
  const logTail = (lines = 40) => recent.slice(-lines).join('\n');

  const started = Date.now();
  // Its own process group, so stop() reaches kc.sh and the JVM it forks alike.
  const proc = spawn(join(home, 'bin', 'kc.sh'), args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', collect);
  proc.stderr.on('data', collect);
  const pid = proc.pid!;
  let exitCode: number | string | undefined;
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      exitCode = code ?? signal ?? 'unknown';
      resolve();
    });
  });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is already gone
    }
  };
  // A test worker that exits without stop() must not leave a JVM behind.
  const onExit = () => killGroup('SIGKILL');
  process.on('exit', onExit);

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= halt());
  const halt = async () => {
    process.off('exit', onExit);
    if (exitCode === undefined) {
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    killGroup('SIGKILL');
    await new Promise((resolve) => logFile.end(resolve));
    await rm(instanceDir, { recursive: true, force: true });
  };

  const managementUrl = `http://127.0.0.1:${managementPort}`;
  const timeoutMs = opts.readyTimeoutMs ?? 240_000;
  const deadline = started + timeoutMs;
  for (;;) {
    if (exitCode !== undefined) {
      const tail = logTail();
      await stop();
      throw new Error(`Keycloak ${dist.version} exited (${exitCode}) before it was ready; last log lines:\n${tail}`);
    }
    if (Date.now() > deadline) {
      const tail = logTail();
      await stop();
      throw new Error(`Keycloak ${dist.version} not ready within ${timeoutMs / 1000}s; last log lines:\n${tail}`);
    }
    if (await isReady(managementUrl)) break;
    await new Promise((r) => setTimeout(r, 500));
  }

  return {
    baseUrl: `http://127.0.0.1:${httpPort}`,
    managementUrl,
    adminUser,
    adminPassword,
    pid,
    startupMs: Date.now() - started,
    rssBytes: () => jvmRss(pid),
    logTail,
    stop,
  };
}

function externalKeycloak(): KeycloakServer | undefined {
  const url = process.env.KEYFLEET_TEST_KEYCLOAK_URL;
  if (!url) return undefined;
  const adminPassword = process.env.KEYFLEET_TEST_KEYCLOAK_ADMIN_PASSWORD;
  if (!adminPassword) throw new Error('KEYFLEET_TEST_KEYCLOAK_URL is set but KEYFLEET_TEST_KEYCLOAK_ADMIN_PASSWORD is not');
  const baseUrl = url.replace(/\/+$/, '');
  const management = new URL(baseUrl);
  management.port = '9000';
  return {
    baseUrl,
    managementUrl: (process.env.KEYFLEET_TEST_KEYCLOAK_MANAGEMENT_URL ?? management.origin).replace(/\/+$/, ''),
    adminUser: process.env.KEYFLEET_TEST_KEYCLOAK_ADMIN_USER ?? 'admin',
    adminPassword,
    pid: undefined,
    startupMs: 0,
    rssBytes: async () => undefined,
    logTail: () => '',
    stop: async () => {},
  };
}

function dbVendor(dbUrl: string): string {
  const scheme = /^jdbc:([a-z]+):/.exec(dbUrl)?.[1];
  const vendor = scheme ? DB_VENDORS[scheme] : undefined;
  // The URL itself is not echoed: it may carry credentials.
  if (!vendor) throw new Error(`dbUrl must be a JDBC URL of ${Object.keys(DB_VENDORS).join(', ')} (got scheme "${scheme ?? dbUrl.split(':')[0]}")`);
  return vendor;
}

/**
 * The dist after `kc.sh build` with these options, cached per version and options: the build
 * (Quarkus augmentation) takes ~40 s, an optimized start then skips it.
 */
async function builtDist(dist: KeycloakDist, buildArgs: string[]): Promise<string> {
  const key = createHash('sha256').update(buildArgs.join('\n')).digest('hex').slice(0, 12);
  const builtRoot = join(keyfleetCacheDir, 'keycloak', 'built');
  const dir = join(builtRoot, `${dist.version}-${key}`);
  if (await exists(join(dir, 'bin', 'kc.sh'))) return dir;
  await mkdir(builtRoot, { recursive: true });
  const tmp = await mkdtemp(join(builtRoot, '.tmp-'));
  try {
    await rm(tmp, { recursive: true });
    await run('cp', ['-a', dist.distDir, tmp]);
    await run(join(tmp, 'bin', 'kc.sh'), ['build', ...buildArgs], {
      env: { ...withoutKeycloakEnv(process.env), JAVA_HOME: dist.javaHome },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 10 * 60_000,
    });
    // Parallel test files may build the same options; the first rename wins, the rest drop theirs.
    await rename(tmp, dir).catch(async (err: unknown) => {
      if (!(await exists(join(dir, 'bin', 'kc.sh')))) throw err;
    });
  } catch (err) {
    const e = err as { stdout?: string; message: string };
    throw new Error(`kc.sh build ${buildArgs.join(' ')} failed: ${(e.stdout ?? e.message).trim().slice(-2000)}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** KC_* variables of the caller's environment would silently change the server's configuration. */
function withoutKeycloakEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('KC_')));
}

async function isReady(managementUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${managementUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** kc.sh forks the JVM (or execs it after a re-augmentation, then the pid is the JVM itself). */
async function jvmRss(pid: number): Promise<number | undefined> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const jvm = Number(children.trim().split(/\s+/)[0]) || pid;
  const status = await readFile(`/proc/${jvm}/status`, 'utf8').catch(() => '');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : undefined;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
