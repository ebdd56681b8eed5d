import type { Logger } from '@keyfleet/log';
import type { UpstreamHeaders } from './forwarded-headers.js';
import { FrontProxy } from './front-proxy.js';

/** An HTTP port and a management port: the public pair the front listens on, or a container's backend pair. */
export interface PortPair {
  httpPort: number;
  managementPort: number;
}

/** The two proxies of one Keycloak front (public HTTP and management ports), run by the front process. */
export class FrontPair {
  private http: FrontProxy | undefined;
  private management: FrontProxy | undefined;
  private ports: PortPair | undefined;

  constructor(private readonly log: Logger) {}

  get isOpen(): boolean {
    return !!this.http?.listening;
  }

  /**
   * Listens on the public ports and forwards to `backends`; on the same ports it only switches.
   * New ports are listened on before the old ones close, so a port that is taken fails the call
   * and leaves the front serving where it was (unless the new pair reuses one of the old ports).
   */
  async open(ports: PortPair, backends: PortPair, upstream: UpstreamHeaders = 'none'): Promise<void> {
    if (this.isOpen && this.ports?.httpPort === ports.httpPort && this.ports.managementPort === ports.managementPort) {
      this.http!.switchTo(backends.httpPort, upstream);
      this.management!.switchTo(backends.managementPort, upstream);
      return;
    }
    const current = this.ports ? [this.ports.httpPort, this.ports.managementPort] : [];
    if (current.includes(ports.httpPort) || current.includes(ports.managementPort)) await this.close();
    const http = new FrontProxy('http', backends.httpPort, this.log, upstream);
    const management = new FrontProxy('management', backends.managementPort, this.log, upstream);
    try {
      await http.listen(ports.httpPort);
      await management.listen(ports.managementPort);
    } catch (err) {
      await Promise.all([http.close(), management.close()]);
      throw err;
    }
    await this.close();
    Object.assign(this, { http, management, ports });
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
