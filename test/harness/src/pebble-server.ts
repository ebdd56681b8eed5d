import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, goBinDir } from './find-binary.js';
import { makeTestCerts } from './make-test-certs.js';
import { testPort } from './test-port.js';

export interface PebbleServer {
  /** The ACME directory. */
  directoryUrl: string;
  /** CA of pebble's own HTTPS listener: the hub trusts it (NODE_EXTRA_CA_CERTS) to talk ACME. */
  caFile: string;
  /** Root that signs the certificates pebble issues: hosts trust it to check what Keycloak serves. */
  issuerRootFile: string;
  /** Where pebble's validator connects for HTTP-01 (the agent's challenge listener). */
  httpPort: number;
  /** Everything pebble printed, for assertions and failures. */
  output: string[];
  /** pebble's non-ACME test endpoint that sets the renewal window it serves for a certificate (ARI). */
  setRenewalInfo(certificatePem: string, window: { start: Date; end: Date }): Promise<void>;
  stop(): Promise<void>;
}

function getPem(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    })
      .on('error', reject)
      .end();
  });
}

/**
 * pebble prints "ACME directory available" before its listeners are bound (the management one is
 * bound in another goroutine): a first answer is the signal it is ready, refused connections until then.
 */
async function whenListening<T>(call: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

function postJson(url: string, ca: string, body: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    request(url, { ca, method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'keyfleet-test-harness' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${url}: HTTP ${res.statusCode} ${text}`))));
    })
      .on('error', reject)
      .end(JSON.stringify(body));
  });
}

/**
 * A real ACME CA: pebble (Debian's, or PEBBLE_BIN) on random loopback ports with a throwaway
 * TLS certificate (pebble ships none). Validation is real: for HTTP-01 pebble connects to
 * `httpPort` on the name being validated, so tests name `localhost`. No artificial validation
 * sleeps and no rejected nonces, so what a test measures is the issuance itself.
 */
export async function startPebble(
  opts: {
    httpPort?: number;
    validitySec?: number;
    /** `host:port` of the DNS server pebble's validator asks (DNS-01 TXT lookups, names for HTTP-01), e.g. a harness Knot. */
    dnsServer?: string;
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<PebbleServer> {
  // v2.10.3 from the Go module proxy first (validity profiles, ARI); Debian's 2.4 issues 5-year certificates only.
  const bin = findBinary('pebble', 'PEBBLE_BIN', [goBinDir, '/usr/bin'], 'scripts/setup.sh (go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3)');
  const dir = await mkdtemp(join(tmpdir(), 'kf-pebble-'));
  const certs = await makeTestCerts(dir);
  const [listen, management, tlsPort] = [testPort(), testPort(), testPort()];
  const httpPort = opts.httpPort ?? testPort();
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${listen}`,
      managementListenAddress: `127.0.0.1:${management}`,
      certificate: certs.certFile,
      privateKey: certs.keyFile,
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      // Short-lived certificates make renewal testable in minutes (pebble >= 2.5 reads profiles).
      ...(opts.validitySec ? { profiles: { default: { description: 'test', validityPeriod: opts.validitySec } } } : {}),
    },
  };
  const configFile = join(dir, 'pebble-config.json');
  await writeFile(configFile, JSON.stringify(config));
  const proc = spawn(bin, ['-config', configFile, ...(opts.dnsServer ? ['-dnsserver', opts.dnsServer] : [])], {
    cwd: dir,
    // Every order validates afresh (no authorization reuse), so a test's failing challenge really fails.
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pebble did not start within 20 s:\n${output.join('\n')}`)), 20_000);
    const onData = (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        output.push(line);
        if (/ACME directory available at/.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pebble exited (${code}) before it was ready:\n${output.join('\n')}`));
    });
  });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await ready;
    const ca = await readFile(certs.caFile, 'utf8');
    const issuerRootFile = join(dir, 'issuer-root.pem');
    await writeFile(issuerRootFile, await whenListening(() => getPem(`https://127.0.0.1:${management}/roots/0`, ca)));
    const setRenewalInfo = (certificatePem: string, window: { start: Date; end: Date }) =>
      postJson(`https://127.0.0.1:${management}/set-renewal-info/`, ca, {
        Certificate: certificatePem,
        ARIResponse: JSON.stringify({ suggestedWindow: { start: window.start.toISOString(), end: window.end.toISOString() } }),
      });
    return { directoryUrl: `https://127.0.0.1:${listen}/dir`, caFile: certs.caFile, issuerRootFile, httpPort, output, setRenewalInfo, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
