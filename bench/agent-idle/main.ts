/**
 * Idle cost of one real keyfleet-agent: the bundled binary (scripts/build.mjs), enrolled
 * with a real hub over real NATS, default 15 s heartbeat, sampled from /proc for N seconds.
 * Then the same for the floor: a bare node process that only holds a NATS connection, with the
 * same flags and environment, so the agent's own share is visible.
 * Usage: pnpm build && pnpm --filter @keyfleet/bench agent-idle [seconds]
 * Env AGENT_NODE_FLAGS and MALLOC_ARENA_MAX default to the systemd unit's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubApi, repoRoot, startHubProcess, startNats, startPostgres } from '@keyfleet/test-harness';

const seconds = Number(process.argv[2] ?? 60);
const bundle = process.env.AGENT_BUNDLE ?? join(repoRoot, 'apps/agent/dist/keyfleet-agent.mjs');
if (!existsSync(bundle)) throw new Error(`${bundle} missing: run \`pnpm build\` first`);
const flags = (process.env.AGENT_NODE_FLAGS ?? '--enable-source-maps --max-semi-space-size=1').split(' ').filter(Boolean);
const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };
const TICKS_PER_SEC = 100; // USER_HZ on Linux

/** RSS split into private anonymous memory (heap, malloc) and file pages (mostly the node binary, shared and reclaimable). */
async function measure(proc: ChildProcess) {
  const status = async () => {
    const s = await readFile(`/proc/${proc.pid}/status`, 'utf8');
    const kb = (key: string) => Number(s.match(new RegExp(`${key}:\\s+(\\d+)`))![1]) / 1024;
    return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
  };
  const cpuTicks = async () => {
    const f = (await readFile(`/proc/${proc.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  // Let startup garbage settle before measuring the steady state.
  await new Promise((r) => setTimeout(r, 5000));
  const samples: Array<Awaited<ReturnType<typeof status>>> = [];
  const ticks0 = await cpuTicks();
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    samples.push(await status());
    await new Promise((r) => setTimeout(r, 1000));
  }
  const cpuPct = (((await cpuTicks()) - ticks0) / TICKS_PER_SEC / ((Date.now() - t0) / 1000)) * 100;
  const avg = (k: 'rss' | 'anon' | 'file') => (samples.reduce((a, s) => a + s[k], 0) / samples.length).toFixed(1);
  return `RSS avg=${avg('rss')} MB max=${Math.max(...samples.map((s) => s.rss)).toFixed(1)} MB (anon ${avg('anon')} + file ${avg('file')}); CPU=${cpuPct.toFixed(2)} %`;
}

const stop = async (proc: ChildProcess) => {
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
};

const [nats, db] = await Promise.all([startNats(), startPostgres()]);
const hub = await startHubProcess({ nats, databaseUrl: db.url, env: { KEYFLEET_LOG_LEVEL: 'warn' } });
const api = new HubApi(hub.url, hub.adminToken);
const stateDir = await mkdtemp(join(tmpdir(), 'kf-idle-'));
// Flags apply to `run` only: that is the long-lived process (enroll needs fetch, whose wasm parser --lite-mode disables).
const run = (args: string[]) =>
  spawn(process.execPath, [...(args[0] === 'run' ? flags : []), bundle, ...args, '--state-dir', stateDir], {
    env: { ...env, KEYFLEET_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

const enroll = run(['enroll', '--hub', hub.url, '--token', await api.enrollmentToken()]);
await new Promise((resolve, reject) => enroll.once('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`enroll exited ${code}`)))));
const agent = run(['run']);
await new Promise<void>((resolve) => agent.stderr!.on('data', (d: Buffer) => d.toString().includes('hub welcomed') && resolve()));
const flagText = `node ${flags.join(' ') || '(no flags)'}, MALLOC_ARENA_MAX=${env.MALLOC_ARENA_MAX}`;
console.log(`agent idle over ${seconds}s (${flagText}): ${await measure(agent)}`);
await stop(agent);

// The floor: what any Node process pays to hold one NATS connection and heartbeat, before Keyfleet's own code.
const floorScript = `
  import { connect, credsAuthenticator } from '@nats-io/transport-node';
  import { readFileSync } from 'node:fs';
  import { loadavg } from 'node:os';
  const nc = await connect({ servers: ${JSON.stringify(nats.url)}, authenticator: credsAuthenticator(readFileSync(${JSON.stringify(nats.files.hubCredsPath)})) });
  setInterval(() => nc.publish('bench.floor', JSON.stringify(loadavg())), 15000);
  console.log('connected');`;
const floor = spawn(process.execPath, [...flags, '--input-type=module', '-e', floorScript], {
  cwd: join(repoRoot, 'apps/agent'),
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((resolve, reject) => {
  floor.stdout!.on('data', (d: Buffer) => d.toString().includes('connected') && resolve());
  floor.once('exit', (code) => reject(new Error(`floor process exited ${code}`)));
});
console.log(`floor, node + NATS client only (${flagText}): ${await measure(floor)}`);
floor.removeAllListeners('exit');
await stop(floor);

await rm(stateDir, { recursive: true, force: true });
await hub.stop();
await Promise.all([nats.stop(), db.stop()]);
