/**
 * Fan-out benchmark: N simulated agents (each its own NATS connection and credential,
 * spread over a few worker processes) against a real hub process, real NATS and real
 * Postgres. Dispatches `noop` to all and reports, per task, the time from the batch's
 * creation to its result being stored (the terminal state event's DB timestamp).
 * Usage: pnpm --filter @keyfleet/bench fanout [N ...]   (default 100 1000); FANOUT_ROUNDS batches
 * per N on the same fleet (default 5), each reported, then all pooled.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { hubTestClient, repoRoot, startHubProcess, startNats, startPostgres } from '@keyfleet/test-harness';

const WORKERS = 4;
/** Batches per fleet size: the first one runs on a cold hub (JIT, pool), so one figure would mislead. */
const ROUNDS = Number(process.env.FANOUT_ROUNDS ?? 5);
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const here = dirname(fileURLToPath(import.meta.url));

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

for (const n of sizes.length ? sizes : [100, 1000]) {
  const [nats, db] = await Promise.all([startNats(), startPostgres()]);
  const hub = await startHubProcess({ nats, databaseUrl: db.url, env: { KEYFLEET_LOG_LEVEL: 'warn' } });
  const api = hubTestClient({ url: hub.url, token: hub.adminToken });
  const workers = Array.from({ length: WORKERS }, (_, w) => {
    const share = Math.floor(n / WORKERS) + (w < n % WORKERS ? 1 : 0);
    const proc = spawn(process.execPath, ['--import', 'tsx', join(here, 'sim-agents.ts'), hub.url, nats.url, String(share)], {
      cwd: repoRoot,
      env: { ...process.env, KEYFLEET_TOKEN: hub.adminToken },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const ready = new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      proc.once('exit', (code) => reject(new Error(`worker ${w} exited with ${code}`)));
    });
    return { proc, ready };
  });
  const enrollStart = Date.now();
  await Promise.all(workers.map((w) => w.ready));
  const enrollMs = Date.now() - enrollStart;
  await until(
    `${n} hosts online`,
    async () => {
      const r = await api.api.v1.hosts.$get({ query: { status: 'online' } });
      return r.status === 200 && (await r.json()).items.length === n;
    },
    60_000,
    250,
  );

  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const pooled: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const logFrom = hub.proc.output.length;
    const t0 = Date.now();
    const created = await api.api.v1.tasks.$post({ json: { type: 'noop', target: { all: true } } });
    if (created.status !== 201) throw new Error(`dispatch failed: ${created.status} ${await created.text()}`);
    const batchId = (await created.json()).batch.id;
    await until(
      'every result stored',
      async () => {
        const r = await client.query("select count(*)::int as n from tasks where batch_id = $1 and state in ('succeeded','failed','cancelled','expired')", [
          batchId,
        ]);
        return r.rows[0].n === n;
      },
      120_000,
      20,
    );
    const wallMs = Date.now() - t0;
    const rows = await client.query(
      `select extract(epoch from (e.at - b.created_at)) * 1000 as ms, t.state
         from task_events e join tasks t on t.id = e.task_id join task_batches b on b.id = t.batch_id
        where t.batch_id = $1 and e.kind = 'state' and e.data->>'state' in ('succeeded','failed','cancelled','expired')`,
      [batchId],
    );
    const lat = rows.rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
    pooled.push(...lat);
    const phases = await client.query(
      `select e.data->>'state' as state, percentile_disc(0.5) within group (order by extract(epoch from (e.at - b.created_at)) * 1000) as p50,
              percentile_disc(0.95) within group (order by extract(epoch from (e.at - b.created_at)) * 1000) as p95
         from task_events e join tasks t on t.id = e.task_id join task_batches b on b.id = t.batch_id
        where t.batch_id = $1 and e.kind = 'state' group by 1 order by 2`,
      [batchId],
    );
    const failed = rows.rows.filter((r) => r.state !== 'succeeded').length;
    console.log(
      `fanout N=${n} round ${round}/${ROUNDS}: results stored p50=${pct(lat, 50).toFixed(0)} ms p95=${pct(lat, 95).toFixed(0)} ms max=${lat.at(-1)!.toFixed(0)} ms; ` +
        `all stored after ${wallMs} ms (client view); not succeeded=${failed}`,
    );
    console.log(
      `  phases (ms after the batch was created): ${phases.rows.map((r) => `${r.state} p50=${Number(r.p50).toFixed(0)} p95=${Number(r.p95).toFixed(0)}`).join(', ')}`,
    );
    // Warnings explain outliers (a retried send, a failed batch write): show them with the figures.
    const warnings = hub.proc.output.slice(logFrom).filter((l) => /"level":(40|50|60)/.test(l));
    if (warnings.length > 0) console.log(`  hub warnings during the run: ${warnings.length}; first: ${warnings.slice(0, 3).join('\n    ')}`);
  }
  pooled.sort((a, b) => a - b);
  console.log(
    `fanout N=${n}, all ${ROUNDS} rounds pooled: p50=${pct(pooled, 50).toFixed(0)} ms p95=${pct(pooled, 95).toFixed(0)} ms max=${pooled.at(-1)!.toFixed(0)} ms; ` +
      `enrollment of ${n} agents took ${enrollMs} ms`,
  );
  await client.end();
  for (const w of workers) w.proc.kill('SIGTERM');
  await hub.stop();
  await Promise.all([nats.stop(), db.stop()]);
}

/** Polls until `check` holds (a benchmark runs outside vitest, so vi.waitFor is not there). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
