import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '@keyfleet/log';
import { TaskFailure } from '../../../../task-failure.js';
import { compatVerdict, type CompatVerdict } from '../compat-verdict.js';
import { newInstanceRecord } from '../../instance/new-instance-record.js';
import { keycloakStateDir, type KeycloakInstanceRecord } from '../../instance/instance-store.js';
import { keycloakBuild } from '../keycloak-build.js';
import { keycloakEnv } from '../keycloak-env.js';
import type { KeycloakRuntime, RuntimeContext, RuntimeStatus, VerifyEndpoints } from '../keycloak-runtime.js';
import type { KeycloakConfig, VerifyReport } from '../../keycloak-types.js';
import { UpdateRolledBack } from '../update-rolled-back.js';
import { verifyFailure } from '../../verify/verify-failure.js';
import { READY_LOG_LINES, waitReady } from '../wait-ready.js';
import { ChildSupervisor } from './child-supervisor.js';
import { findJavaHome } from './find-java-home.js';
import type { KeycloakSupervisor } from './keycloak-supervisor.js';
import { prepareDist } from './prepare-dist.js';
import { runCommand } from './run-command.js';
import { SystemdSupervisor } from './systemd-supervisor.js';

const READY_TIMEOUT_MS = 5 * 60_000;

/**
 * Keycloak from its server distribution, supervised as a detached child process (default)
 * or, with KEYFLEET_KEYCLOAK_SUPERVISOR=systemd on a root agent with systemctl, as the unit
 * keycloak-keyfleet.service. Dists live in <installRoot>/<version>-<build key>; all of them
 * share one data dir, so an update keeps the dev-file database.
 */
export class ProcessRuntime implements KeycloakRuntime {
  private readonly ownDir: string;
  private readonly installRoot: string;

  constructor(
    stateDir: string,
    private readonly log: Logger,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    // Absolute whatever the caller passed: kc.sh runs with its dist as working directory, and the
    // dists and their data symlink are recorded and compared as paths.
    this.ownDir = resolve(keycloakStateDir(stateDir));
    // A systemd service runs as its own user, which cannot enter the agent's 0700 state dir.
    this.installRoot = env.KEYFLEET_KEYCLOAK_HOME ? resolve(env.KEYFLEET_KEYCLOAK_HOME) : this.wantsSystemd() ? '/opt/keyfleet/keycloak' : this.ownDir;
  }

  private wantsSystemd(): boolean {
    return this.env.KEYFLEET_KEYCLOAK_SUPERVISOR === 'systemd';
  }

  private async supervisorKind(): Promise<'child' | 'systemd'> {
    if (!this.wantsSystemd()) return 'child';
    const systemctl = await runCommand('systemctl', ['--version']).then(
      (r) => r.code === 0,
      () => false,
    );
    if (!systemctl || process.getuid?.() !== 0) {
      throw new Error('KEYFLEET_KEYCLOAK_SUPERVISOR=systemd needs systemctl and an agent running as root');
    }
    return 'systemd';
  }

  private supervisor(kind: 'child' | 'systemd', memoryLimitMb?: number): KeycloakSupervisor {
    return kind === 'systemd'
      ? new SystemdSupervisor({ environmentFile: join(this.ownDir, 'keycloak.env'), memoryLimitMb })
      : new ChildSupervisor({ pidFile: join(this.ownDir, 'keycloak.pid'), logFile: join(this.ownDir, 'keycloak.log') });
  }

  private supervisorOf(record: KeycloakInstanceRecord): KeycloakSupervisor {
    return this.supervisor(deployment(record).supervisor, record.config.memoryLimitMb);
  }

  private launchEnv(config: KeycloakConfig): Record<string, string> {
    const env = keycloakEnv(config, { httpPort: config.httpPort, managementPort: config.managementPort });
    // Outside a container kc.sh caps the heap at 512 MB; a configured limit sizes it instead.
    if (config.memoryLimitMb) env.JAVA_OPTS_KC_HEAP = `-Xms64m -Xmx${Math.floor(config.memoryLimitMb * 0.7)}m`;
    return env;
  }

  private async prepare(config: KeycloakConfig, ctx: RuntimeContext, javaHome: string): Promise<string> {
    const build = keycloakBuild(config);
    return prepareDist({
      distUrl: config.distUrl!,
      version: config.version,
      build: build.args,
      buildKey: build.key,
      installRoot: this.installRoot,
      dataDir: join(this.installRoot, 'data'),
      javaHome,
      signal: ctx.signal,
      note: (step) => ctx.note(step),
    });
  }

  private async launch(record: KeycloakInstanceRecord, ctx: RuntimeContext): Promise<number> {
    const supervisor = this.supervisorOf(record);
    const { installDir, javaHome } = deployment(record);
    await supervisor.start({ installDir, javaHome, env: this.launchEnv(record.config) });
    return waitReady({
      managementUrl: record.managementUrl,
      baseUrl: record.baseUrl,
      timeoutMs: READY_TIMEOUT_MS,
      signal: ctx.signal,
      dead: async () => ((await supervisor.status()).running ? undefined : 'the Keycloak process exited'),
      logTail: () => supervisor.logs(READY_LOG_LINES),
    });
  }

  private record(
    config: KeycloakConfig,
    installDir: string,
    supervisor: 'child' | 'systemd',
    javaHome: string,
    previous?: KeycloakInstanceRecord,
  ): KeycloakInstanceRecord {
    return newInstanceRecord(config, { runtime: 'process', process: { installDir, supervisor, javaHome } }, previous);
  }

  async install(config: KeycloakConfig, previous: KeycloakInstanceRecord | undefined, ctx: RuntimeContext): Promise<KeycloakInstanceRecord> {
    const kind = await this.supervisorKind();
    const java = await findJavaHome(this.log, this.env);
    ctx.note(`Java ${java.major} at ${java.path}`);
    const installDir = await this.prepare(config, ctx, java.path);
    if (previous?.runtime === 'process' && (await this.stop(previous))) ctx.note('stopped the running Keycloak to apply the new config');
    const record = this.record(config, installDir, kind, java.path, previous);
    const ms = await this.launch(record, ctx);
    ctx.note(`started Keycloak ${config.version} (${kind === 'systemd' ? 'systemd unit' : 'supervised process'}); ready in ${(ms / 1000).toFixed(1)}s`);
    return record;
  }

  async start(record: KeycloakInstanceRecord, ctx: RuntimeContext): Promise<void> {
    await this.launch(record, ctx);
  }

  async stop(record: KeycloakInstanceRecord): Promise<boolean> {
    return this.supervisorOf(record).stop();
  }

  async status(record: KeycloakInstanceRecord): Promise<RuntimeStatus> {
    return this.supervisorOf(record).status();
  }

  async logs(record: KeycloakInstanceRecord, lines: number): Promise<string> {
    return this.supervisorOf(record).logs(lines);
  }

  /** Runs `update-compatibility metadata` on the running dist and `check` on the new one. */
  private async compatibility(record: KeycloakInstanceRecord, next: KeycloakInstanceRecord, ctx: RuntimeContext): Promise<CompatVerdict> {
    const work = await mkdtemp(join(this.ownDir, '.compat-'));
    try {
      const file = join(work, 'metadata.json');
      const run = (r: KeycloakInstanceRecord, step: 'metadata' | 'check') =>
        runCommand(join(deployment(r).installDir, 'bin', 'kc.sh'), ['update-compatibility', step, '--optimized', `--file=${file}`], {
          env: { PATH: process.env.PATH, LANG: 'C.UTF-8', JAVA_HOME: deployment(r).javaHome, ...this.launchEnv(r.config) },
          signal: ctx.signal,
        });
      const metadata = await run(record, 'metadata');
      if (compatVerdict('metadata', metadata.code, metadata.output) === 'unavailable') return 'unavailable';
      const check = await run(next, 'check');
      return compatVerdict('check', check.code, check.output);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  async update(
    record: KeycloakInstanceRecord,
    config: KeycloakConfig,
    ctx: RuntimeContext,
    verify: (at: VerifyEndpoints) => Promise<VerifyReport>,
  ): Promise<KeycloakInstanceRecord> {
    const old = deployment(record);
    const java = await findJavaHome(this.log, this.env);
    const installDir = await this.prepare(config, ctx, java.path);
    const next = this.record(config, installDir, old.supervisor, java.path, record);
    const verdict = await this.compatibility(record, next, ctx);
    ctx.note(
      'compatibility check',
      verdict === 'unavailable' ? 'update-compatibility unavailable in this Keycloak' : verdict === 'rolling' ? 'rolling update possible' : 'recreate needed',
    );
    // One Keycloak per port pair: the process runtime always stops the old one first.
    ctx.note('pre-update backup', 'skipped: this agent has no backup task yet');
    await this.stop(record);
    ctx.note('stopped the old instance');
    let reason: string;
    try {
      const ms = await this.launch(next, ctx);
      ctx.note('new instance ready', `${(ms / 1000).toFixed(1)}s`);
      const report = await verify(next);
      if (report.ok) {
        ctx.note('verified the new instance');
        await this.prune([old.installDir, installDir]);
        return next;
      }
      reason = verifyFailure(report, 'verification failed');
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      reason = (err as Error).message;
    }
    ctx.note('update failed', reason.slice(0, 1000));
    await this.stop(next);
    const ms = await this.launch(record, ctx).catch((err: Error) => {
      throw new Error(`update failed (${reason}) and the old instance did not come back: ${err.message}`);
    });
    ctx.note('rolled back: old instance ready', `${(ms / 1000).toFixed(1)}s`);
    throw new UpdateRolledBack(reason);
  }

  /** Keeps the running dist and the one before it (for a manual way back); drops older ones. */
  private async prune(keep: string[]): Promise<void> {
    const entries = await readdir(this.installRoot, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const dir = join(this.installRoot, e.name);
      if (!e.isDirectory() || !/^\d+\.\d+\.\d+-[0-9a-f]{12}$/.test(e.name) || keep.includes(dir)) continue;
      await rm(dir, { recursive: true, force: true });
    }
  }

  async remove(record: KeycloakInstanceRecord): Promise<void> {
    await this.supervisorOf(record).remove();
    await this.prune([]);
    await rm(join(this.installRoot, 'data'), { recursive: true, force: true });
    await rm(join(this.installRoot, 'downloads'), { recursive: true, force: true });
  }
}

function deployment(record: KeycloakInstanceRecord) {
  if (!record.process) throw new TaskFailure('handler_error', 'the Keycloak instance record has no process deployment');
  return record.process;
}
