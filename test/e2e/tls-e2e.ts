import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What a client verifying against `ca` sees on `port`: trusted or not, the serial and the fingerprint. */
export function handshake(port: number, ca: string): Promise<{ authorized: boolean; error?: string; serial: string; fingerprint256: string; validTo: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve({
        authorized: socket.authorized,
        error: socket.authorizationError?.message,
        serial: cert.serialNumber.toUpperCase(),
        fingerprint256: cert.fingerprint256,
        validTo: cert.valid_to,
      });
    });
    socket.once('error', reject);
  });
}

/** One client-credentials login of kf-probe in realm kf-e2e over HTTPS, verifying the certificate against `ca`. */
export function httpsLogin(port: number, ca: string, secret: string): Promise<boolean> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'kf-probe', client_secret: secret }).toString();
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        path: '/realms/kf-e2e/protocol/openid-connect/token',
        method: 'POST',
        ca,
        timeout: 5_000,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(res.statusCode === 200 && text.includes('access_token')));
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
}

/** HTTPS logins every 200 ms until stopped; `count` says how many ran so far, `stop` how many ran and how many failed. */
export function httpsLoginProbe(port: number, ca: string, secret: string): { count: () => number; stop: () => Promise<{ total: number; failed: number }> } {
  const results: boolean[] = [];
  let probing = true;
  const loop = (async () => {
    while (probing) {
      const at = Date.now();
      results.push(await httpsLogin(port, ca, secret));
      await new Promise((r) => setTimeout(r, Math.max(0, 200 - (Date.now() - at))));
    }
  })();
  return {
    count: () => results.length,
    async stop() {
      probing = false;
      await loop;
      return { total: results.length, failed: results.filter((ok) => !ok).length };
    },
  };
}

/**
 * A throwaway CA (openssl) in `dir` that signs CSRs for localhost, as a CA would return the
 * certificate: for tests that install certificates without an ACME server.
 */
export async function throwawayCa(dir: string): Promise<{ rootPem: string; sign: (csrPem: string) => Promise<string> }> {
  const p = (n: string) => join(dir, n);
  await run(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=kf-test-ca'].concat([
      '-keyout',
      p('ca.key'),
      '-out',
      p('ca.pem'),
    ]),
  );
  await writeFile(p('ext'), 'subjectAltName=DNS:localhost\n');
  let n = 0;
  return {
    rootPem: await readFile(p('ca.pem'), 'utf8'),
    async sign(csrPem) {
      n += 1;
      await writeFile(p(`${n}.csr`), csrPem);
      await run(
        'openssl',
        ['x509', '-req', '-in', p(`${n}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '1'].concat([
          '-extfile',
          p('ext'),
          '-out',
          p(`${n}.pem`),
        ]),
      );
      return readFile(p(`${n}.pem`), 'utf8');
    },
  };
}
