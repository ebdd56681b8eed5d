/**
 * Backups of a large Keycloak database: a real Keycloak (process runtime, installed by a real
 * agent through the hub) creates its schema on an empty Postgres; the bench then bulk-inserts a
 * realm of BENCH_USERS users (default 100 000) with attributes, credentials, role mappings and
 * login events by SQL `generate_series`, to a database of ~1–2 GB. Then, in the same run:
 *
 *  - plain `pg_dump -Fc` of that database to /dev/null, and `backup.run` through the hub
 *    (pg_dump + tar + age + upload to the hub's local storage), alternated BENCH_ROUNDS times:
 *    the ratio of their summed wall times (target ≤ 1.10);
 *  - the agent's peak RSS during each backup, read from /proc every 250 ms (target ≤ 150 MB);
 *  - `backup.restore` onto the same host (Keycloak stopped, pg_restore, started, verified);
 *  - `backup.drill` on that host (decrypt, restore into a scratch database, boot a scratch
 *    Keycloak on it, drill-client tokens) for the realm (target ≤ 3 min), BENCH_DRILLS times.
 *
 * The agent is the bundled one (`pnpm build`), run with the systemd unit's node flags, as on a host.
 * Usage: pnpm build && pnpm --filter @keyfleet/bench backup
 * Env: BENCH_USERS (100000), BENCH_ATTRS per user (12), BENCH_EVENTS (2000000), BENCH_ROUNDS (2),
 * BENCH_DRILLS (2: the first on a host builds its scratch Keycloak, the second reuses it).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createEnrollmentToken, enrollAgent, ensureKeycloakDist, findJavaHome, repoRoot, startFleet, startPostgres, testPort } from '@keyfleet/test-harness';
import { hubRequest } from '../common/hub-request.js';
import { readMemory } from '../common/sample-memory.js';
import { keycloakShapedData } from './keycloak-shaped-data.js';

const exec = promisify(execFile);
const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const ATTRS = Number(process.env.BENCH_ATTRS ?? 12);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const DRILLS = Number(process.env.BENCH_DRILLS ?? 2);
const REALM = 'bench';

const bundle = process.env.AGENT_BUNDLE ?? join(repoRoot, 'apps/agent/dist/keyfleet-agent.mjs');
if (!existsSync(bundle)) throw new Error(`${bundle} missing: run \`pnpm build\` first`);
const unit = readFileSync(join(repoRoot, 'deploy/systemd/keyfleet-agent.service'), 'utf8');
const flags = (unit.match(/^ExecStart=\S+ (.*?) \S+\.mjs run /m)?.[1] ?? '').split(' ').filter(Boolean);
const malloc = Object.fromEntries([...unit.matchAll(/^Environment=(MALLOC_\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));

const t0 = Date.now();
const log = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${line}`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Task {
  id: string;
  state: string;
  startedAt: string | null;
  finishedAt: string | null;
  output: unknown;
  error: unknown;
  summary: string | null;
}

const work = await mkdtemp(join(tmpdir(), 'kf-bench-backup-'));
const [dist, fleet, kcDb] = await Promise.all([
  ensureKeycloakDist(),
  startFleet({ hubEnv: { KEYFLEET_BACKUP_DIR: join(work, 'store'), KEYFLEET_LOG_LEVEL: 'warn' } }),
  startPostgres(),
]);
const api = <T>(method: string, path: string, body?: unknown) => hubRequest<T>(fleet.hub.url, fleet.hub.adminToken, method, path, body);
let agent: ChildProcess | undefined;
let enrolledState = '';
try {
  const enrolled = await enrollAgent({
    hubUrl: fleet.hub.url,
    token: await createEnrollmentToken(fleet.api),
    labels: { 'keyfleet.io/drill': 'true' },
  });
  enrolledState = enrolled.stateDir;
  agent = spawn(process.execPath, [...flags, bundle, 'run', '--state-dir', enrolled.stateDir], {
    env: { ...process.env, ...malloc, JAVA_HOME: findJavaHome(), KEYFLEET_HEARTBEAT_INTERVAL_MS: '2000', KEYFLEET_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const agentPid = agent.pid!;
  await new Promise<void>((resolve, reject) => {
    agent!.stderr!.on('data', (d: Buffer) => d.toString().includes('hub welcomed') && resolve());
    agent!.once('exit', (code) => reject(new Error(`agent exited ${code}`)));
  });
  const hostId = enrolled.hostId;

  const runTask = async (path: string, body: unknown, onRunning?: () => void): Promise<Task> => {
    const res = await api<{ taskId?: string; tasks?: Array<{ id: string }>; backups?: Array<{ id: string; taskId: string }> }>('POST', path, body);
    const taskId = res.taskId ?? res.tasks?.[0]?.id ?? res.backups?.[0]?.taskId;
    if (!taskId) throw new Error(`no task in ${JSON.stringify(res)}`);
    for (;;) {
      const t = await api<Task>('GET', `/v1/tasks/${taskId}`);
      if (['succeeded', 'failed', 'cancelled', 'expired'].includes(t.state)) {
        if (t.state !== 'succeeded') throw new Error(`${path}: ${t.state} ${JSON.stringify(t.error)}`);
        return t;
      }
      if (t.state === 'running') onRunning?.();
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const wall = (t: Task) => new Date(t.finishedAt!).getTime() - new Date(t.startedAt!).getTime();

  // Keycloak on the empty database: it creates its own schema (the real one, not a copy of it).
  const adminPassword = 'bench-admin-password';
  await api('PUT', '/v1/secrets/kc-admin', { value: adminPassword });
  await api('PUT', '/v1/secrets/kc-db', { value: 'unused-with-trust-auth' });
  const httpPort = testPort();
  const db = new URL(kcDb.url);
  log(`installing Keycloak ${dist.version} (process runtime) on ${kcDb.url}`);
  await runTask('/v1/tasks', {
    type: 'keycloak.install',
    target: { hostId },
    timeoutMs: 20 * 60_000,
    params: {
      version: dist.version,
      runtime: 'process',
      distUrl: dist.tarball,
      database: { kind: 'external', url: `jdbc:postgresql://${db.host}${db.pathname}`, username: db.username, password: { $secret: 'kc-db' } },
      hostname: `http://127.0.0.1:${httpPort}`,
      httpPort,
      managementPort: testPort(),
      bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
    },
  });
  const base = `http://127.0.0.1:${httpPort}`;
  const tokenRes = await fetch(`${base}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: 'admin', password: adminPassword }),
  });
  const { access_token } = (await tokenRes.json()) as { access_token: string };
  const created = await fetch(`${base}/admin/realms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ realm: REALM, enabled: true }),
  });
  if (created.status !== 201) throw new Error(`creating realm ${REALM}: ${created.status}`);

  log(`generating ${USERS} users × ${ATTRS} attributes, credentials, role mappings and ${EVENTS} login events`);
  const genStart = Date.now();
  await keycloakShapedData(kcDb.url, { realm: REALM, users: USERS, attributesPerUser: ATTRS, events: EVENTS });
  const psql = async (q: string) => (await exec('psql', ['-At', '-d', kcDb.url, '-c', q])).stdout.trim();
  const dbBytes = Number(await psql('SELECT pg_database_size(current_database())'));
  const users = await psql(`SELECT count(*) FROM user_entity u JOIN realm r ON r.id = u.realm_id WHERE r.name = '${REALM}'`);
  log(`database ${(dbBytes / 1024 ** 3).toFixed(2)} GiB (${users} users in ${REALM}) in ${secs(Date.now() - genStart)}`);

  // Stock age-keygen (Debian age), as an operator makes the key pair offline.
  const keygen = (await exec('age-keygen')).stdout;
  const identity = keygen.match(/^AGE-SECRET-KEY-1\S+$/m)![0];
  const recipient = keygen.match(/public key: (age1\S+)/)![1]!;
  await api('POST', '/v1/backup-keys', { name: 'bench', recipient });
  await api('PUT', '/v1/secrets/bench-identity', { value: identity });

  // The same pg_dump the agent picks: the server's major version.
  const major = (await psql('SHOW server_version')).split('.')[0];
  const pgDump = existsSync(`/usr/lib/postgresql/${major}/bin/pg_dump`) ? `/usr/lib/postgresql/${major}/bin/pg_dump` : 'pg_dump';
  const plainDump = async () => {
    const start = Date.now();
    await new Promise<void>((resolve, reject) => {
      // stdout 'ignore' is /dev/null; the agent reads pg_dump's stdout the same way (a pipe, not a file).
      const child = spawn(pgDump, ['-Fc', '-d', kcDb.url], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pg_dump exited ${code}: ${stderr}`))));
    });
    return Date.now() - start;
  };

  let dumpMs = 0;
  let backupMs = 0;
  let peakRss = 0;
  let backupId = '';
  let sizeBytes = 0;
  const rows: string[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const d = await plainDump();
    dumpMs += d;
    let roundPeak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        roundPeak = Math.max(roundPeak, (await readMemory(agentPid)).rss);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const restRss = (await readMemory(agentPid)).rss;
    const t = await runTask('/v1/backups', { target: { hostId } });
    sampling = false;
    await sampler;
    const out = t.output as { backupId: string; sizeBytes: number; dumpBytes: number; durationMs: number; peakRssBytes: number };
    backupMs += wall(t);
    peakRss = Math.max(peakRss, roundPeak);
    backupId = out.backupId;
    sizeBytes = out.sizeBytes;
    const line = `round ${round}: pg_dump -Fc > /dev/null ${secs(d)}; backup.run ${secs(wall(t))} (agent ${secs(out.durationMs)}), dump ${(out.dumpBytes / 1024 ** 2).toFixed(0)} MiB, object ${(out.sizeBytes / 1024 ** 2).toFixed(0)} MiB; agent RSS ${restRss.toFixed(1)} MB at rest, peak ${roundPeak.toFixed(1)} MB (/proc), ${(out.peakRssBytes / 1024 ** 2).toFixed(1)} MB (in-process); load ${loadavg()[0]!.toFixed(1)}`;
    rows.push(line);
    log(line);
  }

  log(`restoring ${backupId} onto ${hostId} (Keycloak stopped, pg_restore, started, verified)`);
  const restore = await runTask(`/v1/backups/${backupId}/restore`, { hostId, identitySecret: 'bench-identity' });
  const r = restore.output as { restoreMs: number; downtimeMs: number; verify: { ok: boolean } };
  log(
    `restore: task ${secs(wall(restore))}, database + files ${secs(r.restoreMs)}, Keycloak down ${secs(r.downtimeMs)}, verify ${r.verify.ok ? 'ok' : 'FAILED'}`,
  );

  // The first drill on a host copies and builds its scratch Keycloak; later ones reuse that copy.
  const drills: string[] = [];
  for (let n = 1; n <= DRILLS; n++) {
    log(`drill ${n} of ${backupId} on ${hostId}`);
    const drill = await runTask(`/v1/backups/${backupId}/drill`, {
      hostId,
      identitySecret: 'bench-identity',
      scratchUrl: kcDb.url.replace(/\/[^/]*$/, '/postgres'),
    });
    const dr = drill.output as { ok: boolean; restoreMs: number; rtoMs?: number; keycloak?: { readyMs: number } };
    const line = `drill ${n}: ${dr.ok ? 'verified' : 'FAILED'} in ${secs(wall(drill))} (database ${secs(dr.restoreMs)}, scratch Keycloak ready in ${dr.keycloak ? secs(dr.keycloak.readyMs) : '—'}, RTO ${dr.rtoMs === undefined ? '—' : secs(dr.rtoMs)}; target ≤ 180 s); load ${loadavg()[0]!.toFixed(1)}`;
    drills.push(line);
    log(line);
  }

  console.log('\n== bench/backup ==');
  console.log(`database: ${(dbBytes / 1024 ** 3).toFixed(2)} GiB, ${users} users in realm ${REALM}; backup object ${(sizeBytes / 1024 ** 2).toFixed(0)} MiB`);
  for (const line of rows) console.log(line);
  console.log(`backup.run ÷ pg_dump: ${(backupMs / dumpMs).toFixed(3)} (${secs(backupMs)} / ${secs(dumpMs)} over ${ROUNDS} rounds; target ≤ 1.10)`);
  console.log(`agent peak RSS during backups: ${peakRss.toFixed(1)} MB (target ≤ 150 MB)`);
  console.log(`restore: ${secs(wall(restore))} (database + files ${secs(r.restoreMs)}, Keycloak down ${secs(r.downtimeMs)})`);
  for (const line of drills) console.log(line);
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
} finally {
  // The process-runtime Keycloak outlives its agent by design: stop it through the agent, then
  // by the pids its supervisor wrote (a bench that failed half-way may have left it running).
  if (agent && agent.exitCode === null) {
    agent.kill('SIGTERM');
    await new Promise((r) => agent!.once('exit', r));
  }
  if (enrolledState) {
    await killSupervised(join(enrolledState, 'keycloak'));
    // The front (the public port's proxy) outlives its agent by design too.
    await exec(process.execPath, [bundle, 'front', '--close', '--state-dir', enrolledState]).catch(() => undefined);
    await rm(enrolledState, { recursive: true, force: true });
  }
  await Promise.all([fleet.stop(), kcDb.stop()]);
  await rm(work, { recursive: true, force: true });
}

/** SIGKILLs the process groups of the kc.sh pids the agent's supervisor recorded, by id. */
async function killSupervised(dir: string): Promise<void> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => /^keycloak(-[ab])?\.pid$/.test(f));
  for (const f of files) {
    const { pid } = JSON.parse(await readFile(join(dir, f), 'utf8')) as { pid: number };
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
