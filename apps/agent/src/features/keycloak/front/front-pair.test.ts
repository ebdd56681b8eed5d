import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { Agent, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@keyfleet/log';
import { testPort } from '@keyfleet/test-harness';
import type { FrontTls } from './front-control.js';
import { FrontPair, type PortPair } from './front-pair.js';

const run = promisify(execFile);
const log = createLogger('test', { level: 'silent' });

/** A backend pair answering with its name and the forwarding headers it got, like Keycloak's HTTP and management ports. */
async function backend(name: string): Promise<{ ports: PortPair; servers: Server[] }> {
  const servers = ['http', 'management'].map((kind) =>
    createServer((req, res) =>
      res.end(JSON.stringify({ at: `${name}-${kind}`, proto: req.headers['x-forwarded-proto'], for: req.headers['x-forwarded-for'] })),
    ),
  );
  const ports = await Promise.all(servers.map((s) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)))));
  return { ports: { httpPort: ports[0]!, managementPort: ports[1]! }, servers };
}

/** A self-signed certificate for localhost, written where the front is told to read it. */
async function certificate(dir: string, cn: string): Promise<{ cert: string; key: string }> {
  const [cert, key] = [join(dir, `${cn}.pem`), join(dir, `${cn}.key`)];
  await run(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${cn}`].concat([
      '-addext',
      'subjectAltName=DNS:localhost',
      '-keyout',
      key,
      '-out',
      cert,
    ]),
  );
  return { cert, key };
}

/** One HTTPS GET over `agent` (so a test can keep its connection): the body and the certificate the connection presented. */
function httpsGet(port: number, agent: Agent): Promise<{ body: { at: string; proto: string; for: string }; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername: 'localhost', path: '/', agent, rejectUnauthorized: false }, (res) => {
      // Read now: at the end a keep-alive socket is already back in the agent's pool.
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ body: JSON.parse(text), fingerprint }));
    });
    req.on('error', reject);
    req.end();
  });
}

const fingerprint = async (file: string) => new X509Certificate(await readFile(file)).fingerprint256;

describe('FrontPair with TLS', () => {
  let dir: string;
  let a: Awaited<ReturnType<typeof backend>>;
  let b: Awaited<ReturnType<typeof backend>>;
  let pub: PortPair;
  let tls: FrontTls;
  const pair = new FrontPair(log);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-front-tls-'));
    [a, b] = await Promise.all([backend('a'), backend('b')]);
    pub = { httpPort: testPort(), managementPort: testPort() };
    const first = await certificate(dir, 'first');
    tls = { httpsPort: testPort(), certificateFile: join(dir, 'certificate.pem'), certificateKeyFile: join(dir, 'private-key.pem'), httpEnabled: false };
    await writeFile(tls.certificateFile, await readFile(first.cert));
    await writeFile(tls.certificateKeyFile, await readFile(first.key));
  });

  afterAll(async () => {
    await pair.close();
    for (const s of [...(a?.servers ?? []), ...(b?.servers ?? [])]) s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('terminates TLS on the HTTPS port with the certificate in the files, tells Keycloak the client used https, and closes plain HTTP', async () => {
    await pair.open(pub, a.ports);
    expect(await (await fetch(`http://127.0.0.1:${pub.httpPort}/`)).json()).toMatchObject({ at: 'a-http', proto: 'http' });
    await pair.open(pub, a.ports, 'none', tls);
    const agent = new Agent({ keepAlive: true });
    try {
      const got = await httpsGet(tls.httpsPort, agent);
      expect(got.body).toEqual({ at: 'a-http', proto: 'https', for: '127.0.0.1' });
      expect(got.fingerprint).toBe(await fingerprint(tls.certificateFile));
    } finally {
      agent.destroy();
    }
    await expect(fetch(`http://127.0.0.1:${pub.httpPort}/`)).rejects.toThrow();
    // Plain HTTP sent to the HTTPS port gets no answer: the connection is closed.
    await expect(fetch(`http://127.0.0.1:${tls.httpsPort}/`)).rejects.toThrow();
    expect(await (await fetch(`http://127.0.0.1:${pub.managementPort}/`)).json()).toMatchObject({ at: 'a-management' });
  });

  it('serves a renewed certificate from the next handshake on, to the backends it serves, without dropping an open connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await httpsGet(tls.httpsPort, agent);
      const renewed = await certificate(dir, 'renewed');
      await writeFile(tls.certificateKeyFile, await readFile(renewed.key));
      await writeFile(tls.certificateFile, await readFile(renewed.cert));
      await pair.serveTls(tls);
      // The open keep-alive connection keeps working, with the certificate it shook hands with.
      const same = await httpsGet(tls.httpsPort, agent);
      expect(same.fingerprint).toBe(before.fingerprint);
      const fresh = new Agent({ keepAlive: false });
      const next = await httpsGet(tls.httpsPort, fresh);
      expect(next.fingerprint).toBe(await fingerprint(tls.certificateFile));
      expect(next.fingerprint).not.toBe(before.fingerprint);
      expect(next.body.at).toBe('a-http');
    } finally {
      agent.destroy();
    }
  });

  it('switches HTTPS with the rest in an update, keeps plain HTTP when the operator asks, and refuses an unreadable certificate, serving on', async () => {
    await pair.open(pub, b.ports, 'none', { ...tls, httpEnabled: true });
    // No resumed TLS sessions: each request shows the certificate of a full handshake.
    const agent = new Agent({ keepAlive: false, maxCachedSessions: 0 });
    expect((await httpsGet(tls.httpsPort, agent)).body.at).toBe('b-http');
    expect(await (await fetch(`http://127.0.0.1:${pub.httpPort}/`)).json()).toMatchObject({ at: 'b-http', proto: 'http' });
    expect(await pair.drain(a.ports, 1_000)).toBe(true);
    await expect(pair.serveTls({ ...tls, certificateFile: join(dir, 'missing.pem') })).rejects.toThrow(/ENOENT/);
    expect((await httpsGet(tls.httpsPort, agent)).fingerprint).toBe(await fingerprint(tls.certificateFile));
  });
});
