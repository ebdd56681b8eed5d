import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import type { Logger } from '@keyfleet/log';
import { selfCommand } from '../../../self-command.js';
import { frontControl, type FrontCommand, type FrontReply, type FrontTls } from './front-control.js';
import { frontOptions, type FrontOptions } from './front-options.js';
import type { PortPair } from './front-pair.js';
import { frontBackends } from '../instance/front-backends.js';
import { loadInstance } from '../instance/instance-store.js';

export type { PortPair } from './front-pair.js';

const fronts = new Map<string, KeycloakFront>();
const START_TIMEOUT_MS = 15_000;
const LOG_FILE = 'keycloak-front.log';

const pair = (p: PortPair): PortPair => ({ httpPort: p.httpPort, managementPort: p.managementPort });

/**
 * The agent's handle on the front of a Keycloak: the public HTTP, HTTPS and management ports,
 * each forwarding to the active Keycloak's loopback ports, so an update can start the
 * new container beside the old one and switch atomically. The front runs as its own process
 * (`keyfleet-agent front`, started on first use, detached) so Keycloak stays reachable while the
 * agent restarts; this class sends it commands over its control socket. One per state dir.
 */
export class KeycloakFront {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly stateDir: string,
    private readonly log: Logger,
  ) {}

  static for(dir: string, log: Logger): KeycloakFront {
    // The front process runs in another working directory: it must get the state dir absolute.
    const stateDir = resolve(dir);
    let front = fronts.get(stateDir);
    if (!front) {
      front = new KeycloakFront(stateDir, log);
      fronts.set(stateDir, front);
    }
    return front;
  }

  /**
   * Starts the front of a running Keycloak that runs behind one when none serves (after a reboot, or if
   * it died). A serving front is left alone: it holds the latest switch, which the instance record
   * may not show yet mid-update. Says what it did; never throws (an error is logged).
   */
  static async ensure(stateDir: string, log: Logger): Promise<'no-front' | 'serving' | 'reopened' | 'failed'> {
    try {
      const record = await loadInstance(stateDir);
      const backends = record && frontBackends(record);
      if (!record || !backends || record.desiredState !== 'running') return 'no-front';
      const front = KeycloakFront.for(stateDir, log);
      if (await front.isOpen()) return 'serving';
      await front.open(record, backends, frontOptions(record.config));
      return 'reopened';
    } catch (err) {
      log.error({ reason: (err as Error).message }, 'could not re-open the Keycloak front; Keycloak is unreachable on its public ports');
      return 'failed';
    }
  }

  /** Whether a front process serves the public ports right now. */
  async isOpen(): Promise<boolean> {
    const reply = await this.send({ kind: 'status' }).catch(() => undefined);
    return reply?.kind === 'ok' && reply.open;
  }

  /**
   * Serves `ports` and forwards to `backends`, starting the front process if none runs; on the same
   * ports this is the atomic switch. With `options.tls` the front reads the PEM files again, so
   * this is also how a renewed certificate gets served.
   */
  async open(ports: PortPair, backends: PortPair, options: FrontOptions = {}): Promise<void> {
    await this.serialized(async () => {
      await this.ensureRunning();
      this.check(await this.send({ kind: 'open', ports: pair(ports), backends: pair(backends), upstream: options.upstream ?? 'none', tls: options.tls }));
    });
  }

  /**
   * Serves the certificate in `tls` from the next handshake on (HTTPS turned on if it was not),
   * leaving the backends as the front has them. Fails when no front serves.
   */
  async serveTls(tls: FrontTls): Promise<void> {
    await this.serialized(async () => {
      this.check(await this.send({ kind: 'tls', tls }));
    });
  }

  /** Waits for requests still running on the old backends; false if some were still in flight at the timeout. */
  async drain(old: PortPair, timeoutMs: number): Promise<boolean> {
    return this.serialized(async () => {
      const reply = this.check(await this.send({ kind: 'drain', old: pair(old), timeoutMs }));
      return reply.drained ?? true;
    });
  }

  /** Closes the public ports and ends the front process (nothing to do when none runs). */
  async close(): Promise<void> {
    await this.serialized(async () => {
      const reply = await this.send({ kind: 'close' }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (reply) this.check(reply);
    });
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private check(reply: FrontReply): Extract<FrontReply, { kind: 'ok' }> {
    if (reply.kind === 'error') throw new Error(`Keycloak front: ${reply.message}`);
    return reply;
  }

  private async send(command: FrontCommand, timeoutMs = 120_000): Promise<FrontReply> {
    const path = frontControl.socketPath(this.stateDir);
    return new Promise((resolve, reject) => {
      let text = '';
      const socket = connect({ path });
      socket.setEncoding('utf8');
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`Keycloak front did not answer ${command.kind} within ${timeoutMs / 1000}s`)));
      socket.once('connect', () => socket.write(`${JSON.stringify(command)}\n`));
      socket.on('data', (d: string) => (text += d));
      socket.once('error', reject);
      socket.once('close', (hadError) => {
        if (hadError) return;
        try {
          resolve(frontControl.reply.parse(JSON.parse(text)));
        } catch {
          reject(new Error(`Keycloak front sent an unreadable reply to ${command.kind}: ${JSON.stringify(text.slice(0, 200))}`));
        }
      });
    });
  }

  /** Whether a front process answers on the control socket at all (open or not). */
  private answers(timeoutMs?: number): Promise<boolean> {
    return this.send({ kind: 'status' }, timeoutMs).then(
      () => true,
      () => false,
    );
  }

  private async ensureRunning(): Promise<void> {
    if (await this.answers()) return;
    const logPath = join(this.stateDir, LOG_FILE);
    const logFile = await open(logPath, 'a', 0o600);
    const { argv, cwd } = selfCommand(['front', '--state-dir', this.stateDir]);
    let exited: string | undefined;
    try {
      // Detached in its own session: it must outlive this agent process.
      const child = spawn(process.execPath, argv, { cwd, detached: true, stdio: ['ignore', logFile.fd, logFile.fd], env: process.env });
      child.once('exit', (code, signal) => (exited = `exited with ${code ?? signal}`));
      child.unref();
      this.log.info({ pid: child.pid, log: logPath }, 'started the Keycloak front process');
    } finally {
      await logFile.close();
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (await this.answers(2_000)) return;
      if (exited) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const tail = (await readFile(logPath, 'utf8').catch(() => '')).split('\n').slice(-6).join('\n');
    throw new Error(`the Keycloak front process ${exited ?? `did not answer within ${START_TIMEOUT_MS / 1000}s`}; ${logPath} ends with:\n${tail}`);
  }
}
