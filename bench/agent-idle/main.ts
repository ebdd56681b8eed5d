/**
 * Idle cost of one real keyfleet-agent: the bundled binary (scripts/build.mjs), enrolled
 * with a real hub over real NATS, default 15 s heartbeat, sampled from /proc for 60 s.
 * Usage: pnpm build && pnpm --filter @keyfleet/bench agent-idle [seconds]
 * Env AGENT_NODE_FLAGS adds node flags (the systemd unit's flags are the default).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubApi, repoRoot, startHubProcess, startNats, startPostgres } from '@keyfleet/test-harness';

const seconds = Number(process.argv[2] ?? 60);
const bundle = process.env.AGENT_BUNDLE ?? join(repoRoot, 'apps/agent/dist/keyfleet-agent.mjs');
if (!existsSync(bundle)) throw new Error(`${bundle} missing: run \`pnpm build\` first`);
const flags = (process.env.AGENT_NODE_FLAGS ?? '--enable-source-maps --max-semi-space-size=1').split(' ').filter(Boolean);
const TICKS_PER_SEC = 100; // USER_HZ on Linux

const [nats, db] = await Promise.all([startNats(), startPostgres()]);
const hub = await startHubProcess({ nats, databaseUrl: db.url, env: { KEYFLEET_LOG_LEVEL: 'warn' } });
const api = new HubApi(hub.url, hub.adminToken);
const stateDir = await mkdtemp(join(tmpdir(), 'kf-idle-'));
// Flags apply to `run` only: that is the long-lived process (enroll needs fetch, whose wasm parser --lite-mode disables).
const run = (args: string[]) =>
  spawn(process.execPath, [...(args[0] === 'run' ? flags : []), bundle, ...args, '--state-dir', stateDir], { env: { ...process.env, KEYFLEET_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });

const enroll = run(['enroll', '--hub', hub.url, '--token', await api.enrollmentToken()]);
await new Promise((resolve, reject) => enroll.once('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`enroll exited ${code}`)))));
const agent = run(['run']);
await new Promise<void>((resolve) => agent.stderr.on('data', (d: Buffer) => d.toString().includes('hub welcomed') && resolve()));
// Let startup garbage settle before measuring the steady state.
await new Promise((r) => setTimeout(r, 5000));

const rssMb = async () => Number((await readFile(`/proc/${agent.pid}/status`, 'utf8')).match(/VmRSS:\s+(\d+)/)![1]) / 1024;
const cpuTicks = async () => {
  const f = (await readFile(`/proc/${agent.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
};
const rss: number[] = [];
const ticks0 = await cpuTicks();
const t0 = Date.now();
while (Date.now() - t0 < seconds * 1000) {
  rss.push(await rssMb());
  await new Promise((r) => setTimeout(r, 1000));
}
const cpuPct = ((await cpuTicks()) - ticks0) / TICKS_PER_SEC / ((Date.now() - t0) / 1000) * 100;
console.log(
  `agent idle over ${seconds}s (node ${flags.join(' ') || '(no flags)'}): RSS avg=${(rss.reduce((a, b) => a + b, 0) / rss.length).toFixed(1)} MB ` +
    `max=${Math.max(...rss).toFixed(1)} MB; CPU=${cpuPct.toFixed(2)} %`,
);
agent.kill('SIGTERM');
await new Promise((r) => agent.once('exit', r));
await rm(stateDir, { recursive: true, force: true });
await hub.stop();
await Promise.all([nats.stop(), db.stop()]);
