import type { Logger } from '@keyfleet/log';
import { FrontProxy } from './front-proxy.js';
import { loadInstance } from './instance-store.js';

/** An HTTP port and a management port: the public pair the front listens on, or a container's backend pair. */
export interface PortPair {
  httpPort: number;
  managementPort: number;
}

const fronts = new Map<string, KeycloakFront>();

/**
 * The agent-run front of a docker-runtime Keycloak: the public HTTP and management ports,
 * each forwarding to the active container's loopback ports. It lets an update start the new
 * container beside the old one and switch atomically. It lives in the agent process, so the
 * agent re-opens it at start from the instance record; while the agent is down, Keycloak is
 * not reachable on its public ports. One per agent state dir.
 */
export class KeycloakFront {
  private http: FrontProxy | undefined;
  private management: FrontProxy | undefined;
  private ports: PortPair | undefined;

  private constructor(private readonly log: Logger) {}

  static for(stateDir: string, log: Logger): KeycloakFront {
    let front = fronts.get(stateDir);
    if (!front) fronts.set(stateDir, (front = new KeycloakFront(log)));
    return front;
  }

  /** At agent start: opens the front again when a running docker-runtime Keycloak is installed. Never throws. */
  static async restore(stateDir: string, log: Logger): Promise<void> {
    try {
      const record = await loadInstance(stateDir);
      if (record?.runtime !== 'docker' || !record.docker || record.desiredState !== 'running') return;
      await KeycloakFront.for(stateDir, log).open(record, { httpPort: record.docker.backendHttpPort, managementPort: record.docker.backendManagementPort });
      log.info({ httpPort: record.httpPort, managementPort: record.managementPort }, 'Keycloak front re-opened');
    } catch (err) {
      log.error({ reason: (err as Error).message }, 'could not re-open the Keycloak front; Keycloak is unreachable on its public ports');
    }
  }

  /** At agent stop. */
  static async release(stateDir: string): Promise<void> {
    await fronts.get(stateDir)?.close();
    fronts.delete(stateDir);
  }

  get isOpen(): boolean {
    return !!this.http?.listening;
  }

  /** Listens on the public ports (re-listening when they changed) and forwards to `backends`. */
  async open(ports: PortPair, backends: PortPair): Promise<void> {
    if (this.isOpen && this.ports?.httpPort === ports.httpPort && this.ports.managementPort === ports.managementPort) {
      this.switchTo(backends);
      return;
    }
    await this.close();
    const http = new FrontProxy('http', backends.httpPort, this.log);
    const management = new FrontProxy('management', backends.managementPort, this.log);
    await http.listen(ports.httpPort);
    try {
      await management.listen(ports.managementPort);
    } catch (err) {
      await http.close();
      throw err;
    }
    Object.assign(this, { http, management, ports });
  }

  switchTo(backends: PortPair): void {
    if (!this.http || !this.management) throw new Error('the Keycloak front is not open');
    this.http.switchTo(backends.httpPort);
    this.management.switchTo(backends.managementPort);
  }

  /** Waits for requests still running on the old backends. */
  async drain(old: PortPair, timeoutMs: number): Promise<boolean> {
    const [a, b] = await Promise.all([this.http?.drain(old.httpPort, timeoutMs), this.management?.drain(old.managementPort, timeoutMs)]);
    return a !== false && b !== false;
  }

  async close(): Promise<void> {
    await Promise.all([this.http?.close(), this.management?.close()]);
    this.http = this.management = this.ports = undefined;
  }
}
