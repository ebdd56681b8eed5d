import type Docker from 'dockerode';
import type { Logger } from '@keyfleet/log';
import { TaskFailure } from '../../../../task-failure.js';
import { compatVerdict, type CompatVerdict } from '../compat-verdict.js';
import { freePort, freePorts } from '../free-port.js';
import { configHash } from '../../instance/config-hash.js';
import { frontOptions } from '../../front/front-options.js';
import { newInstanceRecord } from '../../instance/new-instance-record.js';
import { saveInstance, type DockerDeployment, type KeycloakInstanceRecord } from '../../instance/instance-store.js';
import { keycloakBuild } from '../keycloak-build.js';
import { keycloakEnv } from '../keycloak-env.js';
import { startOnFreePorts } from '../start-on-free-ports.js';
import { KeycloakFront, type PortPair } from '../../front/keycloak-front.js';
import type { KeycloakRuntime, RuntimeContext, RuntimeStatus, VerifyEndpoints } from '../keycloak-runtime.js';
import type { KeycloakConfig, VerifyReport } from '../../keycloak-types.js';
import { secretValue } from '../../../../secret-value.js';
import { UpdateRolledBack } from '../update-rolled-back.js';
import { updateStrategy } from '../update-strategy.js';
import { verifyFailure } from '../../verify/verify-failure.js';
import { READY_LOG_LINES, waitReady } from '../wait-ready.js';
import { ensureBundledDatabase } from './bundled-database.js';
import { containerLogs } from './container-logs.js';
import { bundledDbUrl, type DatabaseContainerInput } from './database-container-spec.js';
import { ensureImage } from './ensure-image.js';
import { keycloakContainerSpec } from './keycloak-container-spec.js';
import { optimizedImage } from './optimized-image.js';
import { runOneOff } from './run-one-off.js';

const READY_TIMEOUT_MS = 5 * 60_000;
const ROLLBACK_TIMEOUT_MS = 5 * 60_000;
const DRAIN_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_S = 30;
const COMPAT_FILE = '/tmp/keyfleet-update-compatibility.json';
const BUILTIN_NETWORKS = new Set(['host', 'bridge', 'none', 'default']);
/** How a failed container start begins, telling docker's refusal (e.g. a host port taken) from Keycloak's own exit. */
const DOCKER_REFUSED = 'docker could not start container';

type Database = NonNullable<DockerDeployment['database']>;

/**
 * Keycloak in Docker: an optimized image (kc.sh build run once per build options), the
 * container `<prefix>` on loopback backend ports behind the agent's front on the public
 * ports, an optional bundled Postgres `<prefix>-db`. Engine from DOCKER_HOST (default
 * socket); KEYFLEET_DOCKER_NETWORK (default host), KEYFLEET_DOCKER_NAME_PREFIX (default
 * keyfleet-keycloak), KEYFLEET_KEYCLOAK_DB_IMAGE (default postgres:17) and
 * KEYFLEET_KEYCLOAK_DB_PORT (default: a free port, kept once chosen) adjust it.
 */
export class DockerRuntime implements KeycloakRuntime {
  private readonly networkMode: string;
  private readonly prefix: string;
  private readonly dbImage: string;
  private readonly dbPort: number | undefined;

  /** Loads dockerode (half a second) only on hosts that use the docker runtime. */
  static async open(
    stateDir: string,
    log: Logger,
    env: NodeJS.ProcessEnv = process.env,
    backendPorts: () => Promise<number[]> = () => freePorts(2),
  ): Promise<DockerRuntime> {
    const { default: Dockerode } = await import('dockerode');
    // docker-modem reads DOCKER_HOST itself, but only from process.env.
    const docker = new Dockerode(env.DOCKER_HOST?.startsWith('unix://') ? { socketPath: env.DOCKER_HOST.slice('unix://'.length) } : undefined);
    return new DockerRuntime(docker, stateDir, log, env, backendPorts);
  }

  private constructor(
    private readonly docker: Docker,
    private readonly stateDir: string,
    private readonly log: Logger,
    env: NodeJS.ProcessEnv,
    /** Chooses a new container's two loopback backend ports (HTTP, management). */
    private readonly backendPorts: () => Promise<number[]>,
  ) {
    this.networkMode = env.KEYFLEET_DOCKER_NETWORK || 'host';
    this.prefix = env.KEYFLEET_DOCKER_NAME_PREFIX || 'keyfleet-keycloak';
    this.dbImage = env.KEYFLEET_KEYCLOAK_DB_IMAGE || 'postgres:17';
    this.dbPort = env.KEYFLEET_KEYCLOAK_DB_PORT ? Number(env.KEYFLEET_KEYCLOAK_DB_PORT) : undefined;
  }

  private get front(): KeycloakFront {
    return KeycloakFront.for(this.stateDir, this.log);
  }

  private volumeOf(slot: 'a' | 'b'): string {
    return `${this.prefix}-data-${slot}`;
  }

  private async ensureNetwork(): Promise<void> {
    if (BUILTIN_NETWORKS.has(this.networkMode) || this.networkMode.startsWith('container:')) return;
    const exists = await this.docker
      .getNetwork(this.networkMode)
      .inspect()
      .then(
        () => true,
        () => false,
      );
    if (!exists) await this.docker.createNetwork({ Name: this.networkMode, Labels: { 'keyfleet.managed': 'true' } });
  }

  /**
   * Where Keycloak sees the front's connections come from, the one address it takes forwarding
   * headers from: loopback on the host network; on a user network the published ports are
   * forwarded from the network's gateway. Unknown (e.g. `container:` mode): loopback, so Keycloak
   * ignores the headers and records the gateway rather than trusting anyone who reaches it.
   */
  private async frontAddress(): Promise<string> {
    if (this.networkMode === 'host' || this.networkMode.startsWith('container:')) return '127.0.0.1';
    const name = this.networkMode === 'default' ? 'bridge' : this.networkMode;
    const info = (await this.docker
      .getNetwork(name)
      .inspect()
      .catch(() => undefined)) as { IPAM?: { Config?: Array<{ Gateway?: string }> } } | undefined;
    const gateways = (info?.IPAM?.Config ?? []).flatMap((c) => (c.Gateway ? [c.Gateway] : []));
    if (gateways.length > 0) return gateways.join(',');
    this.log.warn({ network: name }, 'docker network has no gateway: Keycloak will not see client addresses');
    return '127.0.0.1';
  }

  /** The image and the optimized image for a config; nothing running is touched. */
  private async image(config: KeycloakConfig, ctx: RuntimeContext): Promise<string> {
    const note = (step: string) => ctx.note(step);
    const baseId = await ensureImage(this.docker, config.image!, config.imageTarball, note, ctx.signal);
    return optimizedImage(this.docker, { base: config.image!, baseId, version: config.version, build: keycloakBuild(config).args, note, signal: ctx.signal });
  }

  private databaseInput(config: KeycloakConfig, db: Database): DatabaseContainerInput {
    if (config.database.kind !== 'bundled') throw new Error('no bundled database configured');
    return {
      name: db.containerName,
      image: this.dbImage,
      password: secretValue(config.database.password),
      port: db.port,
      networkMode: this.networkMode,
      volume: `${this.prefix}-db-data`,
      instance: this.prefix,
    };
  }

  private async database(config: KeycloakConfig, previous: Database | undefined, ctx: RuntimeContext): Promise<Database | undefined> {
    if (config.database.kind !== 'bundled') return undefined;
    const db = { containerName: `${this.prefix}-db`, port: previous?.port ?? this.dbPort ?? (await freePort()) };
    await ensureBundledDatabase(this.docker, this.databaseInput(config, db), (step) => ctx.note(step), ctx.signal);
    return db;
  }

  private dbUrl(db: Database | undefined): string | undefined {
    return db ? bundledDbUrl({ name: db.containerName, port: db.port, networkMode: this.networkMode }) : undefined;
  }

  private async exists(name: string): Promise<boolean> {
    return this.docker
      .getContainer(name)
      .inspect()
      .then(
        () => true,
        () => false,
      );
  }

  private async removeContainer(name: string, volume?: string): Promise<void> {
    const container = this.docker.getContainer(name);
    await container.stop({ t: STOP_TIMEOUT_S }).catch(() => undefined);
    await container.remove({ force: true }).catch((err: { statusCode?: number; message: string }) => {
      if (err.statusCode !== 404) throw new Error(`removing container ${name} failed: ${err.message}`);
    });
    if (volume) await this.removeVolume(volume);
  }

  private async removeVolume(volume: string): Promise<void> {
    await this.docker
      .getVolume(volume)
      .remove()
      .catch((err: { statusCode?: number; message: string }) => {
        if (err.statusCode !== 404) throw new Error(`removing volume ${volume} failed: ${err.message}`);
      });
  }

  /** The image before the one `keptImage` keeps only takes space (images are per config and version). */
  private async pruneImages(before: DockerDeployment | undefined, image: string): Promise<void> {
    if (before && before.image !== image && before.previousImage && before.previousImage !== image) await this.removeImage(before.previousImage);
  }

  private async removeImage(image: string): Promise<void> {
    await this.docker
      .getImage(image)
      .remove()
      .catch((err: Error) => this.log.warn({ image, reason: err.message }, 'could not remove the previous optimized image'));
  }

  /**
   * Creates and starts a Keycloak container on new loopback backend ports and waits until it is
   * ready, again on new ports when another process took one first: Keycloak exits (host network)
   * or docker refuses to publish it. `started` says where each start went (e.g. opens the front
   * there); a failed start's container goes, and with it `freshVolume`, which must hold nothing
   * the next start could recover.
   */
  private async runKeycloak(
    name: string,
    slot: 'a' | 'b',
    image: string,
    config: KeycloakConfig,
    db: Database | undefined,
    ctx: RuntimeContext,
    started: (backend: PortPair) => Promise<void>,
    freshVolume?: string,
  ): Promise<{ backend: PortPair; ms: number }> {
    return startOnFreePorts({
      ports: await this.backendPorts(),
      start: async ([httpPort, managementPort]) => {
        const backend = { httpPort: httpPort!, managementPort: managementPort! };
        await this.createKeycloak(name, slot, image, config, db, backend);
        await started(backend);
        return { backend, ms: await this.waitContainerReady(name, backend, ctx.signal) };
      },
      ended: (failure) =>
        failure.startsWith(DOCKER_REFUSED)
          ? 'docker refused the container'
          : /^Keycloak will not become ready: container \S+ (exited|keeps exiting)/.test(failure)
            ? 'Keycloak exited'
            : undefined,
      choose: this.backendPorts,
      again: async (_ports, why) => {
        await this.removeContainer(name, freshVolume);
        ctx.note('backend port taken', why);
        this.log.warn({ container: name }, why);
      },
      signal: ctx.signal,
    });
  }

  private async createKeycloak(
    name: string,
    slot: 'a' | 'b',
    image: string,
    config: KeycloakConfig,
    db: Database | undefined,
    backend: PortPair,
  ): Promise<void> {
    const volume = this.volumeOf(slot);
    if (
      !(await this.docker
        .getVolume(volume)
        .inspect()
        .then(
          () => true,
          () => false,
        ))
    ) {
      await this.docker.createVolume({ Name: volume, Labels: { 'keyfleet.managed': 'true', 'keyfleet.instance': this.prefix } });
    }
    await this.docker.createContainer(
      keycloakContainerSpec({
        name,
        image,
        config,
        configHash: configHash(config),
        networkMode: this.networkMode,
        backend,
        volume,
        bundledDbUrl: this.dbUrl(db),
        frontAddress: await this.frontAddress(),
        instance: this.prefix,
      }),
    );
    await this.docker
      .getContainer(name)
      .start()
      .catch((err: Error) => {
        throw new Error(`${DOCKER_REFUSED} ${name}: ${err.message}`);
      });
  }

  private async waitContainerReady(name: string, backend: PortPair, signal: AbortSignal, timeoutMs = READY_TIMEOUT_MS): Promise<number> {
    const container = this.docker.getContainer(name);
    return waitReady({
      managementUrl: `http://127.0.0.1:${backend.managementPort}`,
      baseUrl: `http://127.0.0.1:${backend.httpPort}`,
      timeoutMs,
      signal,
      dead: async () => {
        const info = await container.inspect().catch(() => undefined);
        if (!info) return `container ${name} is gone`;
        // With restart=unless-stopped a failing Keycloak loops; one restart is enough to know.
        if (info.RestartCount > 0) return `container ${name} keeps exiting (exit code ${info.State.ExitCode}, ${info.RestartCount} restart(s))`;
        return info.State.Running ? undefined : `container ${name} exited (exit code ${info.State.ExitCode})`;
      },
      logTail: () => containerLogs(container, READY_LOG_LINES),
    });
  }

  private deploymentRecord(config: KeycloakConfig, docker: DockerDeployment, previous?: KeycloakInstanceRecord): KeycloakInstanceRecord {
    return newInstanceRecord(config, { runtime: 'docker', docker }, previous);
  }

  async install(config: KeycloakConfig, previous: KeycloakInstanceRecord | undefined, ctx: RuntimeContext): Promise<KeycloakInstanceRecord> {
    await this.ensureNetwork();
    const image = await this.image(config, ctx);
    const before = previous?.runtime === 'docker' ? previous.docker : undefined;
    const db = await this.database(config, before?.database, ctx);
    // Left over when an agent died during an update.
    await this.removeContainer(`${this.prefix}-next`);
    if (await this.exists(this.prefix)) {
      ctx.note(`replacing container ${this.prefix} (config changed)`);
      await this.removeContainer(this.prefix);
    }
    const slot = before?.slot ?? 'a';
    const { backend, ms } = await this.runKeycloak(this.prefix, slot, image, config, db, ctx, async (at) => {
      ctx.note(`created container ${this.prefix} from ${image}`);
      await this.front.open(config, at, frontOptions(config));
    });
    ctx.note(`Keycloak ${config.version} ready in ${(ms / 1000).toFixed(1)}s behind the agent's front on ports ${config.httpPort}/${config.managementPort}`);
    await this.pruneImages(before, image);
    return this.deploymentRecord(
      config,
      {
        containerName: this.prefix,
        image,
        ...keptImage(before, image),
        slot,
        backendHttpPort: backend.httpPort,
        backendManagementPort: backend.managementPort,
        networkMode: this.networkMode,
        database: db,
      },
      previous,
    );
  }

  async start(record: KeycloakInstanceRecord, ctx: RuntimeContext): Promise<void> {
    const d = deployment(record);
    if (d.database) await ensureBundledDatabase(this.docker, this.databaseInput(record.config, d.database), (step) => ctx.note(step), ctx.signal);
    const container = this.docker.getContainer(d.containerName);
    const info = await container.inspect().catch(() => undefined);
    if (!info) throw new Error(`container ${d.containerName} does not exist; run keycloak.install again`);
    if (!info.State.Running) await container.start();
    const backend = { httpPort: d.backendHttpPort, managementPort: d.backendManagementPort };
    await this.front.open(record, backend, frontOptions(record.config));
    await this.waitContainerReady(d.containerName, backend, ctx.signal);
  }

  async stop(record: KeycloakInstanceRecord): Promise<boolean> {
    const d = deployment(record);
    await this.front.close();
    const container = this.docker.getContainer(d.containerName);
    const info = await container.inspect().catch(() => undefined);
    if (!info?.State.Running) return false;
    await container.stop({ t: STOP_TIMEOUT_S });
    return true;
  }

  async status(record: KeycloakInstanceRecord): Promise<RuntimeStatus> {
    const info = await this.docker
      .getContainer(deployment(record).containerName)
      .inspect()
      .catch(() => undefined);
    if (!info?.State.Running || info.State.Restarting) return { running: false };
    return { running: true, startedAt: new Date(info.State.StartedAt) };
  }

  async logs(record: KeycloakInstanceRecord, lines: number): Promise<string> {
    return containerLogs(this.docker.getContainer(deployment(record).containerName), lines);
  }

  /** The container's log lines from a second on, each prefixed with docker's timestamp (what the logs feature ships). */
  async logsSince(record: KeycloakInstanceRecord, sinceSec: number): Promise<string> {
    return containerLogs(this.docker.getContainer(deployment(record).containerName), 0, { sinceSec });
  }

  /** `update-compatibility metadata` with the running image and config, `check` with the new ones, each in a throwaway container. */
  private async compatibility(
    record: KeycloakInstanceRecord,
    config: KeycloakConfig,
    image: string,
    db: Database | undefined,
    ctx: RuntimeContext,
  ): Promise<CompatVerdict> {
    const d = deployment(record);
    const placement = (backend: PortPair, dbUrl: string | undefined) => ({
      httpPort: backend.httpPort,
      managementPort: backend.managementPort,
      bundledDbUrl: dbUrl,
    });
    const labels = { 'keyfleet.instance': this.prefix, 'keyfleet.role': 'update-check' };
    const metadata = await runOneOff(this.docker, {
      image: d.image,
      cmd: ['update-compatibility', 'metadata', '--optimized', `--file=${COMPAT_FILE}`],
      env: keycloakEnv(record.config, placement({ httpPort: d.backendHttpPort, managementPort: d.backendManagementPort }, this.dbUrl(d.database))),
      labels,
      get: COMPAT_FILE,
      signal: ctx.signal,
    });
    if (compatVerdict('metadata', metadata.code, metadata.output) === 'unavailable') return 'unavailable';
    if (!metadata.file) throw new Error('kc.sh update-compatibility metadata wrote no metadata file');
    const check = await runOneOff(this.docker, {
      image,
      cmd: ['update-compatibility', 'check', '--optimized', `--file=${COMPAT_FILE}`],
      env: keycloakEnv(config, placement({ httpPort: config.httpPort, managementPort: config.managementPort }, this.dbUrl(db))),
      labels,
      put: { path: COMPAT_FILE, content: metadata.file },
      signal: ctx.signal,
    });
    return compatVerdict('check', check.code, check.output);
  }

  /**
   * Side by side (a rolling update is possible and the database is shared): the new container
   * starts on its own backend ports and data volume while the old one serves, is verified
   * directly, then the front switches new requests to it; the old one drains and goes.
   * Recreate (dev-file database, or the compatibility check says so): the old container stops
   * first. Either way a failure before the switch removes the new container and leaves (or
   * starts again) the old one.
   */
  async update(
    record: KeycloakInstanceRecord,
    config: KeycloakConfig,
    ctx: RuntimeContext,
    verify: (at: VerifyEndpoints) => Promise<VerifyReport>,
  ): Promise<KeycloakInstanceRecord> {
    const d = deployment(record);
    await this.ensureNetwork();
    const image = await this.image(config, ctx);
    const db = await this.database(config, d.database, ctx);
    const verdict = await this.compatibility(record, config, image, db, ctx);
    ctx.note(
      'compatibility check',
      verdict === 'unavailable' ? 'update-compatibility unavailable in this Keycloak' : verdict === 'rolling' ? 'rolling update possible' : 'recreate needed',
    );
    ctx.compatibility?.(verdict);
    const { sideBySide, reason: strategy } = updateStrategy(verdict, config.database.kind, 'container', config.version !== record.version);
    ctx.note('strategy', strategy);

    const nextName = `${this.prefix}-next`;
    const nextSlot = sideBySide ? other(d.slot) : d.slot;
    const nextVolume = this.volumeOf(nextSlot);
    const oldBackend = { httpPort: d.backendHttpPort, managementPort: d.backendManagementPort };
    // A fresh volume: the last update's leftovers (transaction logs) must not be recovered here.
    await this.removeContainer(nextName, sideBySide ? nextVolume : undefined);
    if (!sideBySide) {
      await this.docker
        .getContainer(d.containerName)
        .stop({ t: STOP_TIMEOUT_S })
        .catch(() => undefined);
      ctx.note('stopped the old container', d.containerName);
    }
    let backend: PortPair | undefined;
    try {
      if (!sideBySide) await ctx.oldStopped?.();
      const started = await this.runKeycloak(
        nextName,
        nextSlot,
        image,
        config,
        db,
        ctx,
        async (at) => ctx.note('started the new container', `${nextName} on 127.0.0.1:${at.httpPort}/${at.managementPort}`),
        sideBySide ? nextVolume : undefined,
      );
      backend = started.backend;
      ctx.note('new container ready', `${(started.ms / 1000).toFixed(1)}s`);
      const report = await verify({ baseUrl: `http://127.0.0.1:${backend.httpPort}`, managementUrl: `http://127.0.0.1:${backend.managementPort}` });
      if (!report.ok) throw new Error(verifyFailure(report, 'verification failed'));
      ctx.note('verified the new container');
    } catch (err) {
      const reason = ctx.signal.aborted ? `interrupted: ${(err as Error).message}` : (err as Error).message;
      ctx.note('update failed', reason.slice(0, 1000));
      await this.rollback(nextName, sideBySide ? nextVolume : undefined, sideBySide ? undefined : d.containerName, oldBackend, ctx, reason);
      throw new UpdateRolledBack(reason);
    }

    await this.front.open(config, backend, frontOptions(config));
    ctx.note('switched traffic to the new container');
    const deployed: DockerDeployment = {
      containerName: nextName,
      image,
      ...keptImage(d, image),
      slot: nextSlot,
      backendHttpPort: backend.httpPort,
      backendManagementPort: backend.managementPort,
      networkMode: this.networkMode,
      database: db,
    };
    // Saved at once: an agent restarting from here on must re-open the front to the new container.
    await saveInstance(this.stateDir, this.deploymentRecord(config, deployed, record));
    const drained = await this.front.drain(oldBackend, DRAIN_TIMEOUT_MS);
    ctx.note('old container drained', drained ? 'no requests in flight' : `requests still in flight after ${DRAIN_TIMEOUT_MS / 1000}s`);
    await this.removeContainer(d.containerName, sideBySide ? this.volumeOf(d.slot) : undefined);
    await this.docker.getContainer(nextName).rename({ name: this.prefix });
    ctx.note('removed the old container', `${nextName} renamed to ${this.prefix}`);
    await this.pruneImages(d, image);
    return this.deploymentRecord(config, { ...deployed, containerName: this.prefix }, record);
  }

  private async rollback(
    nextName: string,
    nextVolume: string | undefined,
    restart: string | undefined,
    oldBackend: PortPair,
    ctx: RuntimeContext,
    reason: string,
  ): Promise<void> {
    // A timed-out task still rolls back: on a signal of its own.
    const signal = AbortSignal.timeout(ROLLBACK_TIMEOUT_MS);
    try {
      await this.removeContainer(nextName, nextVolume);
      ctx.note('removed the new container', nextName);
      if (restart) {
        await ctx.beforeOldRestarts?.();
        await this.docker.getContainer(restart).start();
        await this.waitContainerReady(restart, oldBackend, signal, ROLLBACK_TIMEOUT_MS);
        ctx.note('old container running again', restart);
      }
    } catch (err) {
      throw new Error(`update failed (${reason}) and the rollback failed too: ${(err as Error).message}`);
    }
  }

  async remove(record: KeycloakInstanceRecord): Promise<void> {
    await this.front.close();
    for (const name of [this.prefix, `${this.prefix}-next`]) await this.removeContainer(name);
    if (record.docker?.database) await this.removeContainer(record.docker.database.containerName, `${this.prefix}-db-data`);
    for (const slot of ['a', 'b'] as const) await this.removeVolume(this.volumeOf(slot));
  }
}

/**
 * After a change of image the one before is kept, as the process runtime keeps its previous dist:
 * going back to it (after a version upgrade, with the pre-update backup) needs no `kc.sh build`.
 */
function keptImage(before: DockerDeployment | undefined, image: string): { previousImage?: string } {
  if (!before) return {};
  if (before.image !== image) return { previousImage: before.image };
  return before.previousImage ? { previousImage: before.previousImage } : {};
}

function other(slot: 'a' | 'b'): 'a' | 'b' {
  return slot === 'a' ? 'b' : 'a';
}

function deployment(record: KeycloakInstanceRecord): DockerDeployment {
  if (!record.docker) throw new TaskFailure('handler_error', 'the Keycloak instance record has no docker deployment');
  return record.docker;
}
