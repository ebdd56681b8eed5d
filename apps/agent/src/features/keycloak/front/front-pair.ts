import { readFile } from 'node:fs/promises';
import type { Logger } from '@keyfleet/log';
import type { FrontTls } from './front-control.js';
import type { UpstreamHeaders } from './forwarded-headers.js';
import { type ChallengeAnswers, FrontProxy, type FrontCredentials } from './front-proxy.js';

/** An HTTP port and a management port: the public pair the front listens on, or a container's backend pair. */
export interface PortPair {
  httpPort: number;
  managementPort: number;
}

type ListenerName = 'http' | 'https' | 'management';

/** One public port the front should serve and the backend port it forwards to. */
interface Wanted {
  name: ListenerName;
  port: number;
  backend: number;
}

async function readCredentials(tls: FrontTls): Promise<FrontCredentials> {
  const [cert, key] = await Promise.all([readFile(tls.certificateFile, 'utf8'), readFile(tls.certificateKeyFile, 'utf8')]);
  return { cert, key };
}

/**
 * The proxies of one Keycloak front, run by the front process: the public HTTP port, the
 * management port and, with TLS, the public HTTPS port (terminated here, forwarded to Keycloak's
 * HTTP port). With TLS on, plain HTTP is closed unless the operator kept it.
 */
export class FrontPair {
  private proxies = new Map<ListenerName, { proxy: FrontProxy; port: number }>();
  /** What the last open asked for, so a new certificate can be served without naming the backends again. */
  private serving: { ports: PortPair; backends: PortPair; upstream: UpstreamHeaders } | undefined;

  constructor(
    private readonly log: Logger,
    /** ACME HTTP-01 answers the plain-HTTP port serves itself (see frontChallenges). */
    private readonly challenges?: ChallengeAnswers,
  ) {}

  get isOpen(): boolean {
    return !!this.proxies.get('management')?.proxy.listening;
  }

  /**
   * Listens on the public ports and forwards to `backends`; a port already served only switches
   * (and, for HTTPS, takes the certificate read now: a renewal costs no connection). New ports
   * are listened on before the old ones close, so a port that is taken fails the call and leaves
   * the front serving where it was (unless the new set reuses a port an old listener held); so
   * does a certificate that cannot be read.
   */
  async open(ports: PortPair, backends: PortPair, upstream: UpstreamHeaders = 'none', tls?: FrontTls): Promise<void> {
    const credentials = tls ? await readCredentials(tls) : undefined;
    const wanted: Wanted[] = [
      ...(tls && !tls.httpEnabled ? [] : [{ name: 'http' as const, port: ports.httpPort, backend: backends.httpPort }]),
      ...(tls ? [{ name: 'https' as const, port: tls.httpsPort, backend: backends.httpPort }] : []),
      { name: 'management', port: ports.managementPort, backend: backends.managementPort },
    ];
    const kept = wanted.filter((w) => this.proxies.get(w.name)?.port === w.port && this.proxies.get(w.name)?.proxy.listening);
    const fresh = wanted.filter((w) => !kept.includes(w));
    const leaving = [...this.proxies].filter(([name]) => !kept.some((w) => w.name === name));
    // An old listener holding a port a new one needs goes first: a moment without it.
    for (const [name, l] of leaving) {
      if (fresh.some((w) => w.port === l.port)) {
        await l.proxy.close();
        this.proxies.delete(name);
      }
    }
    const started: Array<{ name: ListenerName; proxy: FrontProxy; port: number }> = [];
    try {
      for (const w of fresh) {
        const proxy = new FrontProxy(w.name, w.backend, this.log, upstream, w.name === 'http' ? this.challenges : undefined);
        await proxy.listen(w.port, undefined, w.name === 'https' ? credentials : undefined);
        started.push({ name: w.name, proxy, port: w.port });
      }
    } catch (err) {
      await Promise.all(started.map((s) => s.proxy.close()));
      throw err;
    }
    for (const w of kept) {
      const { proxy } = this.proxies.get(w.name)!;
      proxy.switchTo(w.backend, upstream);
      if (w.name === 'https' && credentials) proxy.setCredentials(credentials);
    }
    for (const [name, l] of leaving) {
      if (!this.proxies.has(name)) continue;
      await l.proxy.close();
      this.proxies.delete(name);
    }
    for (const s of started) this.proxies.set(s.name, { proxy: s.proxy, port: s.port });
    this.serving = { ports, backends, upstream };
  }

  /**
   * HTTPS with the certificate in `tls` (read now), to the backends the front serves already:
   * a renewal that lands mid-update must not switch traffic back to the Keycloak being replaced.
   */
  async serveTls(tls: FrontTls): Promise<void> {
    if (!this.serving || !this.isOpen) throw new Error('the front is not serving');
    await this.open(this.serving.ports, this.serving.backends, this.serving.upstream, tls);
  }

  /** Waits for requests still running on the old backends. */
  async drain(old: PortPair, timeoutMs: number): Promise<boolean> {
    const results = await Promise.all(
      [...this.proxies].map(([name, l]) => l.proxy.drain(name === 'management' ? old.managementPort : old.httpPort, timeoutMs)),
    );
    return results.every(Boolean);
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((l) => l.proxy.close()));
    this.proxies.clear();
    this.serving = undefined;
  }
}
