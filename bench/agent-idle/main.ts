/**
 * Idle cost of one real keyfleet-agent: the bundled binary (scripts/build.mjs), enrolled
 * with a real hub over real NATS, default 15 s heartbeat, sampled from /proc for N seconds:
 * RSS, private memory (RssAnon + VmSwap) and PSS (smaps_rollup).
 * Then the same for the floor: a bare node process that only holds a NATS connection, with the
 * same flags and environment, so the agent's own share is visible.
 * Usage: pnpm build && pnpm --filter @keyfleet/bench agent-idle [seconds]
 * The node flags and the MALLOC_* environment are read from deploy/systemd/keyfleet-agent.service,
 * so the bench measures what hosts run; AGENT_NODE_FLAGS overrides the flags, MALLOC_* variables
 * set here override the unit's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startHubProcess, startNats, startPostgres } from '@keyfleet/test-harness';
import { hubRequest } from '../common/hub-request.js';
import { sampleMemory } from '../common/sample-memory.js';

const seconds = Number(process.argv[2] ?? 60);
const bundle = process.env.AGENT_BUNDLE ?? join(repoRoot, 'apps/agent/dist/keyfleet-agent.mjs');
if (!existsSync(bundle)) throw new Error(`${bundle} missing: run \`pnpm build\` first`);
const unit = readFileSync(join(repoRoot, 'deploy/systemd/keyfleet-agent.service'), 'utf8');
const unitFlags = unit.match(/^ExecStart=\S+ (.*?) \S+\.mjs run /m)?.[1];
const unitMalloc = Object.fromEntries([...unit.matchAll(/^Environment=(MALLOC_\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
if (unitFlags === undefined) throw new Error('no node flags found in the ExecStart of deploy/systemd/keyfleet-agent.service');
const flags = (process.env.AGENT_NODE_FLAGS ?? unitFlags).split(' ').filter(Boolean);
const malloc = Object.fromEntries(Object.keys(unitMalloc).map((k) => [k, process.env[k] ?? unitMalloc[k]!]));
const env = { ...process.env, ...malloc };

const stop = async (proc: ChildProcess) => {
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
};

const [nats, db] = await Promise.all([startNats(), startPostgres()]);
const hub = await startHubProcess({ nats, databaseUrl: db.url, env: { KEYFLEET_LOG_LEVEL: 'warn' } });
const stateDir = await mkdtemp(join(tmpdir(), 'kf-idle-'));
// Flags apply to `run` only: that is the long-lived process (enroll needs fetch, whose wasm parser --lite-mode disables).
const run = (args: string[]) =>
  spawn(process.execPath, [...(args[0] === 'run' ? flags : []), bundle, ...args, '--state-dir', stateDir], {
    env: { ...env, KEYFLEET_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

const enroll = run([
  'enroll',
  '--hub',
  hub.url,
  '--token',
  (await hubRequest<{ token: string }>(hub.url, hub.adminToken, 'POST', '/v1/enrollment-tokens', { labels: {} })).token,
]);
await new Promise((resolve, reject) => enroll.once('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`enroll exited ${code}`)))));
const agent = run(['run']);
await new Promise<void>((resolve) => agent.stderr!.on('data', (d: Buffer) => d.toString().includes('hub welcomed') && resolve()));
const flagText = [`node ${flags.join(' ') || '(no flags)'}`, ...Object.entries(malloc).map(([k, v]) => `${k}=${v}`)].join(', ');
console.log(`agent idle over ${seconds}s (${flagText}): ${await sampleMemory(agent.pid!, seconds)}`);
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
console.log(`floor, node + NATS client only (${flagText}): ${await sampleMemory(floor.pid!, seconds)}`);
floor.removeAllListeners('exit');
await stop(floor);

await rm(stateDir, { recursive: true, force: true });
await hub.stop();
await Promise.all([nats.stop(), db.stop()]);
