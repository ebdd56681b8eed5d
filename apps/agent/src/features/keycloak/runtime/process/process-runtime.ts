import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '@keyfleet/log';
import { TaskFailure } from '../../../../task-failure.js';
import { KeycloakFront } from '../../front/keycloak-front.js';
import { agentBaseUrl } from '../../instance/agent-base-url.js';
import { frontBackends } from '../../instance/front-backends.js';
import { frontOptions } from '../../front/front-options.js';
import { keycloakStateDir, saveInstance, type KeycloakInstanceRecord, type ProcessDeployment } from '../../instance/instance-store.js';
import { newInstanceRecord } from '../../instance/new-instance-record.js';
import type { KeycloakConfig, VerifyReport } from '../../keycloak-types.js';
import { verifyFailure } from '../../verify/verify-failure.js';
import { compatVerdict, type CompatVerdict } from '../compat-verdict.js';
import { freePorts } from '../free-port.js';
import { keycloakBuild } from '../keycloak-build.js';
import { keycloakEnv, type KeycloakPlacement } from '../keycloak-env.js';
import { startOnFreePorts } from '../start-on-free-ports.js';
import type { KeycloakRuntime, RuntimeContext, RuntimeStatus, VerifyEndpoints } from '../keycloak-runtime.js';
import { UpdateRolledBack } from '../update-rolled-back.js';
import { updateStrategy } from '../update-strategy.js';
import { READY_LOG_LINES, waitReady } from '../wait-ready.js';
import { ChildSupervisor } from './child-supervisor.js';
import { findJavaHome } from './find-java-home.js';
import type { KeycloakSupervisor } from './keycloak-supervisor.js';
import { prepareDist } from './prepare-dist.js';
import { runCommand } from './run-command.js';
import { SystemdSupervisor } from './systemd-supervisor.js';

const READY_TIMEOUT_MS = 5 * 60_000;
const ROLLBACK_TIMEOUT_MS = 5 * 60_000;
const DRAIN_TIMEOUT_MS = 30_000;

type Slot = 'a' | 'b';
const other = (slot: Slot): Slot => (slot === 'a' ? 'b' : 'a');

/** Where one Keycloak listens and how this host reaches it directly (not through the front). */
interface Listener {
  placement: KeycloakPlacement;
  baseUrl: string;
  managementUrl: string;
}

/**
 * Keycloak from its server distribution, supervised as a detached child process (default)
 * or, with KEYFLEET_KEYCLOAK_SUPERVISOR=systemd on a root agent with systemctl, as a systemd
 * unit. Like the docker runtime, Keycloak listens on loopback backend ports and the agent's
 * front serves the public ones, so an update starts the new Keycloak beside the old one, in the
 * other slot (its own dist <installRoot>/<version>-<build key>-<slot>, data dir, pid file or
 * unit keycloak-keyfleet-<slot>.service), verifies it and switches. A dev-file database lives in
 * one data dir all slots share, so there the old Keycloak stops first.
 */
export class ProcessRuntime implements KeycloakRuntime {
  private readonly stateDir: string;
  private readonly ownDir: string;
  private readonly installRoot: string;

  constructor(
    stateDir: string,
    private readonly log: Logger,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** Chooses a new Keycloak's two loopback backend ports (HTTP, management). */
    private readonly backendPorts: () => Promise<number[]> = () => freePorts(2),
  ) {
    // Absolute whatever the caller passed: kc.sh runs with its dist as working directory, and the
    // dists and their data symlink are recorded and compared as paths.
    this.stateDir = resolve(stateDir);
    this.ownDir = keycloakStateDir(this.stateDir);
    // A systemd service runs as its own user, which cannot enter the agent's 0700 state dir.
    this.installRoot = env.KEYFLEET_KEYCLOAK_HOME ? resolve(env.KEYFLEET_KEYCLOAK_HOME) : this.wantsSystemd() ? '/opt/keyfleet/keycloak' : this.ownDir;
  }

  private get front(): KeycloakFront {
    return KeycloakFront.for(this.stateDir, this.log);
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

  /** One supervisor per slot; no slot: an instance from before the front (keycloak.pid, keycloak-keyfleet.service). */
  private supervisor(kind: 'child' | 'systemd', slot: Slot | undefined, memoryLimitMb?: number): KeycloakSupervisor {
    const suffix = slot ? `-${slot}` : '';
    return kind === 'systemd'
      ? new SystemdSupervisor({
          environmentFile: join(this.ownDir, `keycloak${suffix}.env`),
          memoryLimitMb,
          unitName: slot ? `keycloak-keyfleet${suffix}.service` : undefined,
        })
      : new ChildSupervisor({ pidFile: join(this.ownDir, `keycloak${suffix}.pid`), logFile: join(this.ownDir, `keycloak${suffix}.log`) });
  }

  private supervisorOf(record: KeycloakInstanceRecord): KeycloakSupervisor {
    const d = deployment(record);
    return this.supervisor(d.supervisor, d.slot, record.config.memoryLimitMb);
  }

  private listener(record: KeycloakInstanceRecord): Listener {
    const backends = frontBackends(record);
    if (!backends) {
      return {
        placement: { httpPort: record.config.httpPort, managementPort: record.config.managementPort },
        baseUrl: record.baseUrl,
        managementUrl: record.managementUrl,
      };
    }
    return {
      // Loopback only: the world reaches it through the front, whose forwarding headers it trusts.
      placement: { httpHost: '127.0.0.1', ...backends, frontAddress: '127.0.0.1' },
      baseUrl: `http://127.0.0.1:${backends.httpPort}`,
      managementUrl: `http://127.0.0.1:${backends.managementPort}`,
    };
  }

  private launchEnv(config: KeycloakConfig, placement: KeycloakPlacement): Record<string, string> {
    const env = keycloakEnv(config, placement);
    // Outside a container kc.sh caps the heap at 512 MB; a configured limit sizes it instead.
    if (config.memoryLimitMb) env.JAVA_OPTS_KC_HEAP = `-Xms64m -Xmx${Math.floor(config.memoryLimitMb * 0.7)}m`;
    return env;
  }

  /** dev-file keeps its H2 database here, so every slot shares it; otherwise each slot has its own (transaction logs). */
  private dataDir(config: KeycloakConfig, slot: Slot): string {
    return join(this.installRoot, config.database.kind === 'dev-file' ? 'data' : `data-${slot}`);
  }

  private async prepare(config: KeycloakConfig, ctx: RuntimeContext, javaHome: string, slot: Slot): Promise<string> {
    const build = keycloakBuild(config);
    return prepareDist({
      distUrl: config.distUrl!,
      version: config.version,
      build: build.args,
      buildKey: build.key,
      installRoot: this.installRoot,
      slot,
      dataDir: this.dataDir(config, slot),
      javaHome,
      signal: ctx.signal,
      note: (step) => ctx.note(step),
    });
  }

  /** Starts the instance's own Keycloak and waits until it is ready on its own ports (not through the front). */
  private async run(record: KeycloakInstanceRecord, signal: AbortSignal): Promise<number> {
    const supervisor = this.supervisorOf(record);
    const { installDir, javaHome } = deployment(record);
    const at = this.listener(record);
    await supervisor.start({ installDir, javaHome, env: this.launchEnv(record.config, at.placement) });
    return waitReady({
      managementUrl: at.managementUrl,
      baseUrl: at.baseUrl,
      timeoutMs: READY_TIMEOUT_MS,
      signal,
      dead: async () => ((await supervisor.status()).running ? undefined : 'the Keycloak process exited'),
      logTail: () => supervisor.logs(READY_LOG_LINES),
    });
  }

  /** The front on the public ports (for an instance behind one), then Keycloak itself. */
  private async launch(record: KeycloakInstanceRecord, signal: AbortSignal): Promise<number> {
    const backends = frontBackends(record);
    if (backends) await this.front.open(record.config, backends, frontOptions(record.config));
    return this.run(record, signal);
  }

  private async deploymentFor(part: Omit<ProcessDeployment, 'backendHttpPort' | 'backendManagementPort'>): Promise<ProcessDeployment> {
    const [backendHttpPort, backendManagementPort] = await this.backendPorts();
    return { ...part, backendHttpPort: backendHttpPort!, backendManagementPort: backendManagementPort! };
  }

  /**
   * Starts a new Keycloak on the backend ports of its record, again on new ports when another
   * process took one before Keycloak bound it (see startOnFreePorts); `moved` re-points what
   * already knows the old ports. Resolves with the record as it runs.
   */
  private async runNew(
    record: KeycloakInstanceRecord,
    ctx: RuntimeContext,
    moved: (record: KeycloakInstanceRecord) => Promise<void> = async () => undefined,
  ): Promise<{ record: KeycloakInstanceRecord; ms: number }> {
    const d = deployment(record);
    return startOnFreePorts({
      ports: [d.backendHttpPort!, d.backendManagementPort!],
      start: async () => ({ record, ms: await this.run(record, ctx.signal) }),
      ended: (failure) => (/the Keycloak process exited/.test(failure) ? 'Keycloak exited' : undefined),
      choose: this.backendPorts,
      again: async ([backendHttpPort, backendManagementPort], why) => {
        await this.supervisorOf(record).stop();
        const next = { ...deployment(record), backendHttpPort: backendHttpPort!, backendManagementPort: backendManagementPort! };
        ctx.note('backend port taken', why);
        this.log.warn({ slot: next.slot }, why);
        record = { ...record, process: next, baseUrl: agentBaseUrl(record.config, { runtime: 'process', process: next }) };
        await moved(record);
      },
      signal: ctx.signal,
    });
  }

  async install(config: KeycloakConfig, previous: KeycloakInstanceRecord | undefined, ctx: RuntimeContext): Promise<KeycloakInstanceRecord> {
    const kind = await this.supervisorKind();
    const java = await findJavaHome(this.log, this.env);
    ctx.note(`Java ${java.major} at ${java.path}`);
    const before = previous?.runtime === 'process' ? previous : undefined;
    const slot = before?.process?.slot ?? 'a';
    const installDir = await this.prepare(config, ctx, java.path, slot);
    if (before && (await this.supervisorOf(before).stop())) ctx.note('stopped the running Keycloak to apply the new config');
    const d = await this.deploymentFor({ installDir, supervisor: kind, javaHome: java.path, slot });
    const openFront = (r: KeycloakInstanceRecord) => this.front.open(config, frontBackends(r)!, frontOptions(config));
    const first = newInstanceRecord(config, { runtime: 'process', process: d }, previous);
    await openFront(first);
    const { record, ms } = await this.runNew(first, ctx, openFront);
    ctx.note(
      `started Keycloak ${config.version} (${kind === 'systemd' ? 'systemd unit' : 'supervised process'}); ready in ${(ms / 1000).toFixed(1)}s behind the agent's front on ports ${config.httpPort}/${config.managementPort}`,
    );
    return record;
  }

  async start(record: KeycloakInstanceRecord, ctx: RuntimeContext): Promise<void> {
    await this.launch(record, ctx.signal);
  }

  async stop(record: KeycloakInstanceRecord): Promise<boolean> {
    if (frontBackends(record)) await this.front.close();
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
    await mkdir(this.ownDir, { recursive: true, mode: 0o700 });
    const work = await mkdtemp(join(this.ownDir, '.compat-'));
    try {
      const file = join(work, 'metadata.json');
      const run = (r: KeycloakInstanceRecord, step: 'metadata' | 'check') =>
        runCommand(join(deployment(r).installDir, 'bin', 'kc.sh'), ['update-compatibility', step, '--optimized', `--file=${file}`], {
          env: { PATH: process.env.PATH, LANG: 'C.UTF-8', JAVA_HOME: deployment(r).javaHome, ...this.launchEnv(r.config, this.listener(r).placement) },
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

  /**
   * Side by side (a shared database and a rolling update possible): the new Keycloak starts in the
   * other slot on its own loopback ports while the old one serves, is verified directly, then the
   * front switches new requests to it; the old one drains and stops. Recreate (dev-file, or the
   * compatibility check says so): the old one stops first and the front switches once the new one
   * is verified. A failure before the switch stops the new one and leaves (or starts again) the
   * old one. An instance from before the front held the public ports itself: it stops right
   * before the front takes them over, a moment's outage once.
   */
  async update(
    record: KeycloakInstanceRecord,
    config: KeycloakConfig,
    ctx: RuntimeContext,
    verify: (at: VerifyEndpoints) => Promise<VerifyReport>,
  ): Promise<KeycloakInstanceRecord> {
    const old = deployment(record);
    const oldBackends = frontBackends(record);
    const java = await findJavaHome(this.log, this.env);
    const slot = old.slot ? other(old.slot) : 'a';
    const installDir = await this.prepare(config, ctx, java.path, slot);
    let next = newInstanceRecord(
      config,
      { runtime: 'process', process: await this.deploymentFor({ installDir, supervisor: old.supervisor, javaHome: java.path, slot }) },
      record,
    );
    const verdict = await this.compatibility(record, next, ctx);
    ctx.note(
      'compatibility check',
      verdict === 'unavailable' ? 'update-compatibility unavailable in this Keycloak' : verdict === 'rolling' ? 'rolling update possible' : 'recreate needed',
    );
    ctx.compatibility?.(verdict);
    const { sideBySide, reason: strategy } = updateStrategy(verdict, config.database.kind, 'instance', config.version !== record.version);
    ctx.note('strategy', strategy);

    let oldStopped = false;
    const stopOld = async (detail?: string) => {
      await this.supervisorOf(record).stop();
      oldStopped = true;
      ctx.note('stopped the old instance', detail);
    };
    if (sideBySide) {
      // A fresh data dir: the last run of this slot left transaction logs that must not be recovered here.
      const data = this.dataDir(config, slot);
      await rm(data, { recursive: true, force: true });
      await mkdir(data, { recursive: true, mode: 0o700 });
    } else {
      await stopOld();
    }
    try {
      if (oldStopped) await ctx.oldStopped?.();
      const { record: running, ms } = await this.runNew(next, ctx);
      next = running;
      const at = this.listener(next);
      ctx.note('new instance ready', `${(ms / 1000).toFixed(1)}s on 127.0.0.1:${next.process!.backendHttpPort}/${next.process!.backendManagementPort}`);
      const report = await verify({ baseUrl: at.baseUrl, managementUrl: at.managementUrl });
      if (!report.ok) throw new Error(verifyFailure(report, 'verification failed'));
      ctx.note('verified the new instance');
      if (!oldStopped && !oldBackends) await stopOld('it listened on the public ports itself; the front takes them over');
      await this.front.open(config, frontBackends(next)!, frontOptions(config));
      ctx.note('switched traffic to the new instance');
    } catch (err) {
      const reason = ctx.signal.aborted ? `interrupted: ${(err as Error).message}` : (err as Error).message;
      ctx.note('update failed', reason.slice(0, 1000));
      await this.rollback(record, next, oldStopped, ctx, reason);
      throw new UpdateRolledBack(reason);
    }
    // Saved at once: an agent restarting from here on must re-open the front to the new instance.
    await saveInstance(this.stateDir, next);
    if (!oldStopped) {
      const drained = oldBackends ? await this.front.drain(oldBackends, DRAIN_TIMEOUT_MS) : true;
      ctx.note('old instance drained', drained ? 'no requests in flight' : `requests still in flight after ${DRAIN_TIMEOUT_MS / 1000}s`);
      await stopOld();
    }
    await this.prune([old.installDir, installDir]);
    return next;
  }

  private async rollback(record: KeycloakInstanceRecord, next: KeycloakInstanceRecord, restart: boolean, ctx: RuntimeContext, reason: string): Promise<void> {
    // A timed-out task still rolls back: on a signal of its own.
    const signal = AbortSignal.timeout(ROLLBACK_TIMEOUT_MS);
    try {
      await this.supervisorOf(next).stop();
      ctx.note('stopped the new instance');
      if (restart) {
        await ctx.beforeOldRestarts?.();
        const ms = await this.launch(record, signal);
        ctx.note('rolled back: old instance ready', `${(ms / 1000).toFixed(1)}s`);
      }
    } catch (err) {
      throw new Error(`update failed (${reason}) and the rollback failed too: ${(err as Error).message}`);
    }
  }

  /** Keeps the running dist and the one before it (for a manual way back); drops older ones. */
  private async prune(keep: string[]): Promise<void> {
    const entries = await readdir(this.installRoot, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const dir = join(this.installRoot, e.name);
      if (!e.isDirectory() || !/^\d+\.\d+\.\d+-[0-9a-f]{12}(-[ab])?$/.test(e.name) || keep.includes(dir)) continue;
      await rm(dir, { recursive: true, force: true });
    }
  }

  async remove(record: KeycloakInstanceRecord): Promise<void> {
    await this.front.close();
    const kind = deployment(record).supervisor;
    for (const slot of [undefined, 'a', 'b'] as const) await this.supervisor(kind, slot).remove();
    await this.prune([]);
    for (const dir of ['data', 'data-a', 'data-b', 'downloads']) await rm(join(this.installRoot, dir), { recursive: true, force: true });
  }
}

function deployment(record: KeycloakInstanceRecord): ProcessDeployment {
  if (!record.process) throw new TaskFailure('handler_error', 'the Keycloak instance record has no process deployment');
  return record.process;
}
