import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsAuthority, type NatsAuthorityFiles, publishAccountJwt, REVOCATION_INBOX_PREFIX } from '@keyfleet/nats-auth';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { findBinary, goBinDir } from './find-binary.js';
import { makeTestCerts } from './make-test-certs.js';

export interface NatsServer {
  url: string;
  /**
   * Operator/account material: `authority.hubCreds()` gives full-access creds,
   * `authority.systemUserCreds(name)` a system-account user (server events).
   */
  authority: NatsAuthority;
  files: NatsAuthorityFiles;
  /** With `tls`: the CA file clients verify the server with. */
  caFile?: string;
  /**
   * Revokes these agent user keys, as a hub does: pushes the account JWT with exactly these
   * revocations (replacing earlier ones) through the system account.
   */
  revoke(publicKeys: string[]): Promise<void>;
  /** Stop (SIGTERM) and wait; the temp dir is removed unless `keepDir`. */
  stop(): Promise<void>;
  /**
   * Kill without cleanup of config, so the same server can be started again on the same port;
   * account JWTs pushed since (revocations) are kept by the full resolver.
   */
  restart(): Promise<void>;
}

async function revokeUsers(url: string, authority: NatsAuthority, publicKeys: string[], caFile?: string): Promise<void> {
  const nc = await connect({
    servers: url,
    authenticator: credsAuthenticator(new TextEncoder().encode(await authority.revocationCreds())),
    inboxPrefix: REVOCATION_INBOX_PREFIX,
    ...(caFile ? { tls: { caFile } } : {}),
  });
  try {
    // A minute ahead of now, as the hub's clock margin: JWTs minted this second are covered.
    const at = Math.floor(Date.now() / 1000) + 60;
    await publishAccountJwt(nc, authority.accountPublicKey, await authority.accountJwt(Object.fromEntries(publicKeys.map((k) => [k, at]))));
  } finally {
    await nc.close();
  }
}

/**
 * Starts a real nats-server in operator (JWT) mode on a random port; with `tls`, every client
 * must speak TLS and verify the server against a throwaway CA (`caFile`).
 * With KEYFLEET_TEST_NATS_URL and KEYFLEET_TEST_NATS_DIR (a dir made by
 * `keyfleet-hub nats-init` whose auth.conf that server includes) an existing
 * server is used instead and `stop` leaves it running.
 */
export async function startNats(opts: { tls?: boolean } = {}): Promise<NatsServer> {
  const existingUrl = process.env.KEYFLEET_TEST_NATS_URL;
  const existingDir = process.env.KEYFLEET_TEST_NATS_DIR;
  if (existingUrl && existingDir) {
    const authority = await NatsAuthority.load(existingDir);
    const files: NatsAuthorityFiles = {
      dir: existingDir,
      authConfPath: join(existingDir, 'auth.conf'),
      hubCredsPath: join(existingDir, 'hub.creds'),
      keysPath: join(existingDir, 'keys.json'),
      revocationCredsPath: join(existingDir, 'revocation.creds'),
      resolverDir: join(existingDir, 'jwt'),
    };
    if (opts.tls) throw new Error('startNats({ tls: true }) cannot use the external server from KEYFLEET_TEST_NATS_URL');
    return {
      url: existingUrl,
      authority,
      files,
      revoke: (keys) => revokeUsers(existingUrl, authority, keys),
      stop: async () => {},
      restart: async () => {
        throw new Error('cannot restart an external NATS server');
      },
    };
  }

  const bin = findBinary('nats-server', 'KEYFLEET_NATS_SERVER', [goBinDir], 'go install github.com/nats-io/nats-server/v2@v2.15.2');
  const dir = await mkdtemp(join(tmpdir(), 'kf-nats-'));
  const files = await NatsAuthority.create(join(dir, 'auth'));
  const authority = await NatsAuthority.load(files.dir);
  const portsDir = join(dir, 'ports');
  // nats-server resolves includes relative to the including file.
  const certs = opts.tls ? await makeTestCerts(dir) : undefined;
  const tlsConf = certs ? `tls {\n  cert_file: "${certs.certFile}"\n  key_file: "${certs.keyFile}"\n}\n` : '';
  // max_payload as in deploy/nats/nats-server.conf: above the agents' own limit, so theirs is the one enforced.
  await writeFile(join(dir, 'nats.conf'), `include "auth/auth.conf"\nhost: 127.0.0.1\nmax_payload: 4MB\n${tlsConf}`);

  let port = -1;
  let proc: ChildProcess;
  const launch = async (): Promise<string> => {
    await rm(portsDir, { recursive: true, force: true });
    await mkdir(portsDir);
    proc = spawn(bin, ['-c', join(dir, 'nats.conf'), '-p', String(port), '--ports_file_dir', portsDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`nats-server exited with ${proc.exitCode}: ${stderr}`);
      const names = await readdir(portsDir).catch(() => [] as string[]);
      const file = names.find((n) => n.endsWith('.ports'));
      // The server writes the file in place: a read can catch it half-written, so only a whole one counts.
      const ports = file ? await readPortsFile(join(portsDir, file)) : undefined;
      if (ports?.nats[0]) return ports.nats[0];
      await new Promise((r) => setTimeout(r, 25));
    }
    proc.kill('SIGKILL');
    throw new Error(`nats-server did not report its port within 30s: ${stderr}`);
  };
  const url = await launch();
  port = Number(new URL(url).port);

  const kill = async (signal: NodeJS.Signals) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    await exited;
  };

  return {
    url,
    authority,
    files,
    caFile: certs?.caFile,
    revoke: (keys) => revokeUsers(url, authority, keys, certs?.caFile),
    async stop() {
      await kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill('SIGKILL');
      await launch();
    },
  };
}

/** The server's ports file, or undefined while it is missing or not yet complete JSON. */
async function readPortsFile(path: string): Promise<{ nats: string[] } | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as { nats: string[] };
  } catch {
    return undefined;
  }
}
