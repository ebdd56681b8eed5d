/**
 * Idle memory of the bundled hub (scripts/build.mjs) on its embedded database and on Postgres,
 * against a real NATS, sampled from /proc for N seconds (RSS, private = RssAnon + VmSwap, PSS):
 *  - embedded, first start: a fresh data dir, so PGlite runs initdb inside the hub process;
 *  - embedded, steady state: the same data dir after a restart, 300 API requests and a quiet minute;
 *  - Postgres, steady state: the same calls against a real Postgres (the database's own memory
 *    is then another process's and not counted);
 *  - floor: a bare node with the same flags that only holds a NATS connection.
 * Usage: pnpm build && pnpm --filter @keyfleet/bench hub-idle [seconds]
 * Env HUB_NODE_FLAGS defaults to the systemd unit's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startNats, startPostgres } from '@keyfleet/test-harness';
import { hubRequest } from '../common/hub-request.js';
import { readMemory, sampleMemory } from '../common/sample-memory.js';

const seconds = Number(process.argv[2] ?? 30);
const bundle = process.env.HUB_BUNDLE ?? join(repoRoot, 'apps/hub/dist/keyfleet-hub.mjs');
if (!existsSync(bundle)) throw new Error(`${bundle} missing: run \`pnpm build\` first`);
const flags = (process.env.HUB_NODE_FLAGS ?? '--enable-source-maps').split(' ').filter(Boolean);

const [nats, postgres] = await Promise.all([startNats(), startPostgres()]);
const secretKey = randomBytes(32).toString('hex');
/** Every process this bench started and has not stopped yet: killed should the bench fail. */
const live = new Set<ChildProcess>();

/** Starts `keyfleet-hub serve`; resolves once it listens, with its URL, admin token (first start only) and start time. */
async function startHub(env: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; url: string; token?: string; startMs: number }> {
  const t0 = Date.now();
  const proc = spawn(process.execPath, [...flags, bundle, 'serve'], {
    env: {
      ...process.env,
      KEYFLEET_NATS_URL: nats.url,
      KEYFLEET_NATS_AUTH_DIR: nats.files.dir,
      KEYFLEET_HTTP_PORT: '0',
      KEYFLEET_SECRET_KEY: secretKey,
      KEYFLEET_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  live.add(proc);
  let out = '';
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`hub exited ${code} before listening:\n${out}`)));
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const url = out.match(/hub listening on (\S+)/)?.[1];
      if (url) {
        proc.removeAllListeners('exit');
        resolve({ proc, url, token: out.match(/initial admin token: (kf_\S+)/)?.[1], startMs: Date.now() - t0 });
      }
    });
  });
}

const stop = async (proc: ChildProcess) => {
  live.delete(proc);
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
};

/**
 * What an operator's dashboard and CLI do on a quiet day: 300 requests, reads and some writes.
 * Returns the RSS right after them: V8 lets the garbage of a burst pile up in the JS heap
 * until its memory reducer runs after ~30-60 s of quiet, which is why steady states are
 * sampled after a minute.
 */
async function work(hub: { url: string; proc: ChildProcess }, token: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    for (const path of ['/v1/hosts', '/v1/tasks', '/v1/audit', '/v1/enrollment-tokens', '/v1/secrets']) await hubRequest(hub.url, token, 'GET', path);
    if (i % 5 === 0) await hubRequest(hub.url, token, 'POST', '/v1/enrollment-tokens', { labels: { bench: String(i) } });
  }
  return `${(await readMemory(hub.proc.pid!)).rss.toFixed(1)} MB RSS right after them`;
}
const QUIET_MS = 60_000;

const flagText = `node ${flags.join(' ') || '(no flags)'}`;
const dataDir = await mkdtemp(join(tmpdir(), 'kf-hub-idle-'));
try {
  const first = await startHub({ KEYFLEET_DATA_DIR: dataDir });
  console.log(
    `embedded, first start (initdb; listening after ${first.startMs} ms) over ${seconds}s (${flagText}): ${await sampleMemory(first.proc.pid!, seconds)}`,
  );
  await stop(first.proc);

  const again = await startHub({ KEYFLEET_DATA_DIR: dataDir });
  const burstAgain = await work(again, first.token!);
  console.log(
    `embedded, steady state (restart; listening after ${again.startMs} ms; 300 requests, ${burstAgain}; then a quiet minute) over ${seconds}s: ${await sampleMemory(again.proc.pid!, seconds, QUIET_MS)}`,
  );
  await stop(again.proc);

  const onPg = await startHub({ KEYFLEET_DATABASE_URL: postgres.url, KEYFLEET_DATA_DIR: dataDir });
  const burstPg = await work(onPg, onPg.token!);
  console.log(
    `postgres, steady state (listening after ${onPg.startMs} ms; 300 requests, ${burstPg}; then a quiet minute) over ${seconds}s: ${await sampleMemory(onPg.proc.pid!, seconds, QUIET_MS)}`,
  );
  await stop(onPg.proc);

  // The floor: what any node process pays to hold one NATS connection, before the hub's own code.
  const floorScript = `
    import { connect, credsAuthenticator } from '@nats-io/transport-node';
    import { readFileSync } from 'node:fs';
    const nc = await connect({ servers: ${JSON.stringify(nats.url)}, authenticator: credsAuthenticator(readFileSync(${JSON.stringify(nats.files.hubCredsPath)})) });
    setInterval(() => nc.publish('bench.floor', 'x'), 15000);
    console.log('connected');`;
  const floor = spawn(process.execPath, [...flags, '--input-type=module', '-e', floorScript], {
    cwd: join(repoRoot, 'apps/hub'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  live.add(floor);
  await new Promise<void>((resolve, reject) => {
    floor.stdout!.on('data', (d: Buffer) => d.toString().includes('connected') && resolve());
    floor.once('exit', (code) => reject(new Error(`floor process exited ${code}`)));
  });
  console.log(`floor, node + NATS client only (${flagText}): ${await sampleMemory(floor.pid!, seconds)}`);
  floor.removeAllListeners('exit');
  await stop(floor);
} finally {
  await Promise.all([...live].map(stop));
  await rm(dataDir, { recursive: true, force: true });
  await Promise.all([nats.stop(), postgres.stop()]);
}
