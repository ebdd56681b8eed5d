/**
 * Alerts benchmark: N simulated hosts (default 10,000) send a heartbeat and a 30-series metric
 * sample every 15 s over real NATS to the real hub (a child process) on real Postgres, with the
 * built-in rules on plus one threshold rule (`bench-cpu-high`, CPU > 90 %, no `for`). Prints:
 *  - hub CPU and memory per minute of the measured window (ingest + evaluation), and Postgres's CPU;
 *  - detection latency of host-offline (a host's last heartbeat → alert firing) and of the
 *    threshold rule (the first breaching sample sent → alert firing), rounds of 25 hosts each;
 *  - the metric history's size per host per day, from Postgres's table sizes.
 * Usage: pnpm --filter @keyfleet/bench alerts [hosts] [minutes]   (default 10000 10)
 * ALERTS_BENCH_WARMUP_S (default 60) before the window; ALERTS_BENCH_PROFILE=<dir> writes a V8 CPU
 * profile of the hub from its start to the window's end there (cpu-profile.mjs).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { repoRoot, startHubProcess, startNats, startPostgres } from '@keyfleet/test-harness';
import { hubRequest } from '../common/hub-request.js';
import { readMemory } from '../common/sample-memory.js';
import { benchHostId } from './bench-host-id.js';

const HOSTS = Number(process.argv[2] ?? 10_000);
const MINUTES = Number(process.argv[3] ?? 10);
const WORKERS = 2;
const ROUND_SIZE = 25;
const ROUND_EVERY_MS = 150_000;
const WARMUP_MS = Number(process.env.ALERTS_BENCH_WARMUP_S ?? 60) * 1000;
const here = dirname(fileURLToPath(import.meta.url));
const profileDir = process.env.ALERTS_BENCH_PROFILE;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const TICKS_PER_SEC = 100;
async function cpuTicks(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
/**
 * Postgres's whole CPU: the postmaster's own and its exited children's (cutime, cstime) plus
 * every live child's (backends, checkpointer, walwriter), so a backend that exits between two
 * readings moves its ticks instead of losing them.
 */
async function postgresTicks(postmaster: number): Promise<number> {
  const stat = (pid: number | string) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const own = stat(postmaster);
  let sum = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = stat(entry);
      if (Number(f[1]) === postmaster) sum += Number(f[11]) + Number(f[12]);
    } catch {
      // exited meanwhile: its ticks are in the postmaster's cutime from now on
    }
  }
  return sum;
}

const [nats, db] = await Promise.all([startNats(), startPostgres()]);
const hub = await startHubProcess({
  nats,
  databaseUrl: db.url,
  env: {
    KEYFLEET_LOG_LEVEL: 'warn',
    ...(profileDir ? { NODE_OPTIONS: `--import ${join(here, 'cpu-profile.mjs')}`, KF_CPU_PROFILE_DIR: profileDir } : {}),
  },
});
const hubPid = hub.proc.pid!;
const client = new pg.Client({ connectionString: db.url });
await client.connect();
const postmaster = Number(readFileSync(join(db.dir!, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);

// The hosts are enrolled straight into the table: enrollment is not what this bench measures.
const t0 = Date.now();
await client.query(
  `INSERT INTO hosts (id, hostname, labels, nkey_public, status, agent_version, proto_version, heartbeat_interval_ms, last_hello_at, last_heartbeat_at)
   SELECT 'h-bench-' || lpad(i::text, 5, '0'), 'sim-' || i, '{"bench":"alerts"}'::jsonb, 'UBENCH' || i, 'online', '0.1.0', 'v1', 15000, now(), now()
     FROM generate_series(0, $1 - 1) AS i`,
  [HOSTS],
);
console.log(`${HOSTS} hosts inserted in ${Date.now() - t0} ms`);
await hubRequest(hub.url, hub.adminToken, 'PUT', '/v1/alert-rules/bench-cpu-high', {
  name: 'bench-cpu-high',
  description: 'The bench’s threshold rule: CPU over 90 %, firing on the first breaching sample.',
  severity: 'warning',
  for: '0s',
  condition: { kind: 'threshold', metric: 'kf_host_cpu_percent', op: '>', value: 90 },
});

const lastHeartbeat = new Map<string, number>();
const hotSent = new Map<string, number>();
const workers = Array.from({ length: WORKERS }, (_, w) => {
  const share = Math.floor(HOSTS / WORKERS);
  const firstIndex = w * share;
  const count = w === WORKERS - 1 ? HOSTS - firstIndex : share;
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'sim-hosts.ts'), nats.url, nats.files.hubCredsPath, String(firstIndex), String(count), String(HOSTS)],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const [what, id, ms] = line.split(' ');
      if (what === 'ready') resolve();
      else if (what === 'offline') lastHeartbeat.set(id!, Number(ms));
      else if (what === 'hot') hotSent.set(id!, Number(ms));
    });
    proc.once('exit', (code) => reject(new Error(`worker ${w} exited with ${code}`)));
  });
  return { proc, firstIndex, count, ready };
});
await Promise.all(workers.map((w) => w.ready));
const send = (ids: string[], cmd: 'offline' | 'hot') => {
  for (const w of workers) {
    const mine = ids.filter((id) => {
      const i = Number(id.slice('h-bench-'.length));
      return i >= w.firstIndex && i < w.firstIndex + w.count;
    });
    if (mine.length > 0) w.proc.stdin!.write(`${JSON.stringify({ [cmd]: mine })}\n`);
  }
};

console.log(`workers ready; warming up for ${WARMUP_MS / 1000} s (every host reports ${WARMUP_MS / 15_000} times)`);
await sleep(WARMUP_MS);

// The measured window: hub and Postgres CPU, hub memory, read every second, summed per minute.
const windowMs = MINUTES * 60_000;
if (profileDir) process.kill(hubPid, 'SIGUSR2');
const start = Date.now();
const minutes: Array<{ hubCpu: number; pgCpu: number; rss: number; priv: number; rssMax: number; load: number }> = [];
const sampler = (async () => {
  let hubT = await cpuTicks(hubPid);
  let pgT = await postgresTicks(postmaster);
  let mark = Date.now();
  let mem: Array<{ rss: number; private: number }> = [];
  while (Date.now() - start < windowMs) {
    await sleep(1000);
    mem.push(await readMemory(hubPid));
    if (Date.now() - mark >= 60_000 || Date.now() - start >= windowMs) {
      const now = Date.now();
      const hubNow = await cpuTicks(hubPid);
      const pgNow = await postgresTicks(postmaster);
      const secs = (now - mark) / 1000;
      const avg = (k: 'rss' | 'private') => mem.reduce((a, m) => a + m[k], 0) / mem.length;
      const m = {
        hubCpu: ((hubNow - hubT) / TICKS_PER_SEC / secs) * 100,
        pgCpu: ((pgNow - pgT) / TICKS_PER_SEC / secs) * 100,
        rss: avg('rss'),
        priv: avg('private'),
        rssMax: Math.max(...mem.map((x) => x.rss)),
        load: loadavg()[0]!,
      };
      minutes.push(m);
      console.log(
        `minute ${minutes.length}: hub CPU ${m.hubCpu.toFixed(1)} % of one core, RSS avg ${m.rss.toFixed(1)} MB (max ${m.rssMax.toFixed(1)}), private ${m.priv.toFixed(1)} MB; ` +
          `Postgres CPU ${m.pgCpu.toFixed(1)} %; load ${m.load.toFixed(1)}`,
      );
      hubT = hubNow;
      pgT = pgNow;
      mark = Date.now();
      mem = [];
    }
  }
})();

// Rounds of detection: ROUND_SIZE hosts go silent, ROUND_SIZE others run hot; each round its own hosts.
const offlineLatency: number[] = [];
const pastDeadline: number[] = [];
const hotLatency: number[] = [];
let round = 0;
while (Date.now() - start + 90_000 < windowMs) {
  const base = round * ROUND_SIZE * 2;
  const silent = Array.from({ length: ROUND_SIZE }, (_, k) => benchHostId(((base + k) * 37) % HOSTS));
  const hot = Array.from({ length: ROUND_SIZE }, (_, k) => benchHostId(((base + ROUND_SIZE + k) * 37) % HOSTS));
  round += 1;
  const roundStart = Date.now();
  send(silent, 'offline');
  send(hot, 'hot');
  const fired = new Map<string, number>();
  while (fired.size < silent.length + hot.length && Date.now() - roundStart < 120_000) {
    await sleep(1000);
    const rows = await client.query<{ host_id: string; rule: string; ms: string }>(
      `SELECT host_id, rule, extract(epoch from fired_at) * 1000 AS ms FROM alerts
        WHERE state = 'firing' AND rule IN ('host-offline', 'bench-cpu-high') AND host_id = ANY($1)`,
      [[...silent, ...hot]],
    );
    for (const r of rows.rows) fired.set(`${r.rule}|${r.host_id}`, Number(r.ms));
  }
  const roundOffline: number[] = [];
  const roundHot: number[] = [];
  for (const id of silent) {
    const at = fired.get(`host-offline|${id}`);
    const last = lastHeartbeat.get(id);
    if (at !== undefined && last) {
      roundOffline.push(at - last);
      pastDeadline.push(at - last - 3 * 15_000);
    }
  }
  for (const id of hot) {
    const at = fired.get(`bench-cpu-high|${id}`);
    const sent = hotSent.get(id);
    if (at !== undefined && sent) roundHot.push(at - sent);
  }
  offlineLatency.push(...roundOffline);
  hotLatency.push(...roundHot);
  const fmt = (xs: number[]) =>
    xs.length
      ? `p50 ${(
          pct(
            [...xs].sort((a, b) => a - b),
            50,
          ) / 1000
        ).toFixed(2)} s, max ${(Math.max(...xs) / 1000).toFixed(2)} s`
      : 'none';
  console.log(
    `round ${round}: host-offline fired for ${roundOffline.length}/${silent.length} (${fmt(roundOffline)} after the last heartbeat); ` +
      `bench-cpu-high for ${roundHot.length}/${hot.length} (${fmt(roundHot)} after the first hot sample was sent)`,
  );
  const next = start + round * ROUND_EVERY_MS;
  if (next > Date.now()) await sleep(next - Date.now());
}
await sampler;

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const o = sorted(offlineLatency);
const d = sorted(pastDeadline);
const h = sorted(hotLatency);
const s = (ms: number | undefined) => (ms === undefined ? '—' : ms < 10_000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`);
console.log(
  `detection, ${o.length} hosts: host-offline p50 ${s(pct(o, 50))} p95 ${s(pct(o, 95))} max ${s(o.at(-1))} after the last heartbeat ` +
    `(= p95 ${s(pct(d, 95))} past the 45 s deadline of 3 missed heartbeats)`,
);
console.log(
  `detection, ${h.length} hosts: threshold rule p50 ${s(pct(h, 50))} p95 ${s(pct(h, 95))} max ${s(h.at(-1))} after the first breaching sample was sent`,
);
const cpus = minutes.map((m) => m.hubCpu);
console.log(
  `hub over ${minutes.length} min: CPU avg ${(cpus.reduce((a, b) => a + b, 0) / cpus.length).toFixed(1)} % of one core (max minute ${Math.max(...cpus).toFixed(1)} %); ` +
    `RSS first minute ${minutes[0]!.rss.toFixed(1)} MB, last ${minutes.at(-1)!.rss.toFixed(1)} MB, max ${Math.max(...minutes.map((m) => m.rssMax)).toFixed(1)} MB; ` +
    `Postgres CPU avg ${(minutes.reduce((a, m) => a + m.pgCpu, 0) / minutes.length).toFixed(1)} %`,
);

// History size: every byte the table holds (heap, TOAST, indexes) over the rows it holds.
const size = (
  await client.query<{ raw: string; folded: string; total: string; heap: string; idx: string; raw_col: string; folded_col: string | null }>(
    `SELECT count(*) FILTER (WHERE step_sec = 0) AS raw, count(*) FILTER (WHERE step_sec > 0) AS folded,
            pg_total_relation_size('host_metrics') AS total, pg_relation_size('host_metrics') AS heap, pg_indexes_size('host_metrics') AS idx,
            avg(pg_column_size(series)) FILTER (WHERE step_sec = 0) AS raw_col, avg(pg_column_size(series)) FILTER (WHERE step_sec > 0) AS folded_col
       FROM host_metrics`,
  )
).rows[0]!;
const rows = Number(size.raw) + Number(size.folded);
const perRow = Number(size.total) / rows;
const rawPerDay = 86_400 / 15;
const foldedPerDay = 86_400 / 300;
console.log(
  `history: ${size.raw} raw + ${size.folded} 5-min rows, ${(Number(size.total) / 1024 ** 2).toFixed(1)} MiB in all (heap ${(Number(size.heap) / 1024 ** 2).toFixed(1)}, ` +
    `indexes ${(Number(size.idx) / 1024 ** 2).toFixed(1)}) = ${perRow.toFixed(0)} B a row (series jsonb ${Number(size.raw_col).toFixed(0)} B raw, ` +
    `${size.folded_col ? Number(size.folded_col).toFixed(0) : '—'} B folded); per host per day: raw ${((rawPerDay * perRow) / 1024 ** 2).toFixed(2)} MiB ` +
    `(${rawPerDay} samples at 15 s), 5-min rows ${((foldedPerDay * perRow) / 1024).toFixed(0)} KiB; ` +
    `a host's whole history (24 h raw + 30 days of 5-min rows) ${(((rawPerDay + 30 * foldedPerDay) * perRow) / 1024 ** 2).toFixed(1)} MiB`,
);
// Warnings explain a bad figure (a backlog, dropped samples): counted by message. The silenced hosts' "offline" is expected.
const warnings = new Map<string, number>();
for (const line of hub.proc.output.filter((l) => /"level":(40|50|60)/.test(l))) {
  const msg = (line.match(/"msg":"([^"]*)"/)?.[1] ?? line).slice(0, 160);
  warnings.set(msg, (warnings.get(msg) ?? 0) + 1);
}
for (const [msg, n] of warnings) console.log(`hub warning ×${n}: ${msg}`);

if (profileDir) {
  process.kill(hubPid, 'SIGUSR2');
  const file = join(profileDir, `hub-${hubPid}.cpuprofile`);
  while (!existsSync(file)) await sleep(200);
  console.log(`hub CPU profile: ${file}`);
}
for (const w of workers) w.proc.kill('SIGTERM');
await client.end();
await hub.stop();
await Promise.all([nats.stop(), db.stop()]);
