import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, goBinDir } from './find-binary.js';
import { makeTestCerts } from './make-test-certs.js';
import { testPort } from './test-port.js';

/** One message as mailpit's API tells it, with both bodies. */
export interface MailpitMessage {
  ID: string;
  Subject: string;
  From: { Address: string; Name: string };
  To: Array<{ Address: string; Name: string }>;
  Text: string;
  HTML: string;
}

export interface MailpitServer {
  smtpHost: string;
  smtpPort: number;
  /** Mailpit's HTTP API, e.g. `${apiUrl}/api/v1/messages`. */
  apiUrl: string;
  /** The only account SMTP accepts (AUTH is required). */
  username: string;
  password: string;
  /** With `starttls`: the CA that signed the SMTP certificate, for NODE_EXTRA_CA_CERTS. */
  caFile?: string;
  /** Every message received, newest first, with its bodies. */
  messages(): Promise<MailpitMessage[]>;
  /** Stops the server, e.g. to test a mail server that is down (`stop` still removes its files). */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

const HINT = 'go install github.com/axllent/mailpit@v1.33.1 (scripts/setup.sh does)';

/**
 * A real SMTP server: mailpit, in memory, on loopback ports, requiring AUTH with one random
 * account. With `starttls` it also requires STARTTLS with a certificate of a throwaway CA
 * (`caFile`). Ready when its API answers; what it received is read back through that API.
 */
export async function startMailpit(opts: { starttls?: boolean } = {}): Promise<MailpitServer> {
  const bin = findBinary('mailpit', 'KEYFLEET_MAILPIT', [goBinDir, '/usr/local/go/bin'], HINT);
  const dir = await mkdtemp(join(tmpdir(), 'kf-mailpit-'));
  const username = 'keyfleet';
  const password = randomBytes(12).toString('base64url');
  await writeFile(join(dir, 'smtp-auth'), `${username}:${password}\n`);
  const args = ['--smtp-auth-file', join(dir, 'smtp-auth'), '--smtp-disable-rdns', '--database', join(dir, 'mailpit.db')];
  let caFile: string | undefined;
  if (opts.starttls) {
    const certs = await makeTestCerts(dir);
    caFile = certs.caFile;
    args.push('--smtp-tls-cert', certs.certFile, '--smtp-tls-key', certs.keyFile, '--smtp-require-starttls');
  } else {
    // AUTH over plain SMTP: only for a test server on loopback.
    args.push('--smtp-auth-allow-insecure');
  }

  const output: string[] = [];
  let proc: ChildProcess | undefined;
  let smtpPort = 0;
  let apiUrl = '';
  // Ports below the ephemeral range (testPort); one taken by another run means start again.
  for (let attempt = 0; ; attempt++) {
    smtpPort = testPort();
    const httpPort = testPort();
    apiUrl = `http://127.0.0.1:${httpPort}`;
    const p = spawn(bin, [...args, '--smtp', `127.0.0.1:${smtpPort}`, '--listen', `127.0.0.1:${httpPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean));
    p.stdout!.on('data', collect);
    p.stderr!.on('data', collect);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (p.exitCode !== null) break;
      const answered = await fetch(`${apiUrl}/api/v1/info`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (answered) break;
      if (Date.now() > deadline) {
        p.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
        throw new Error(`mailpit did not answer on ${apiUrl} within 30 s: ${output.slice(-10).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (p.exitCode === null) {
      proc = p;
      break;
    }
    if (attempt >= 4 || !output.some((l) => /address already in use/i.test(l))) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`mailpit exited with ${p.exitCode}: ${output.slice(-10).join('\n')}`);
    }
  }
  const running = proc;
  const killOnExit = () => running.kill('SIGKILL');
  process.once('exit', killOnExit);
  const kill = async () => {
    if (running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGTERM');
    await exited;
  };
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${apiUrl}${path}`);
    if (!res.ok) throw new Error(`mailpit ${path} answered ${res.status}`);
    return (await res.json()) as T;
  };
  return {
    smtpHost: '127.0.0.1',
    smtpPort,
    apiUrl,
    username,
    password,
    caFile,
    async messages() {
      const list = await api<{ messages: Array<{ ID: string }> }>('/api/v1/messages?limit=500');
      return Promise.all(list.messages.map((m) => api<MailpitMessage>(`/api/v1/message/${m.ID}`)));
    },
    kill,
    async stop() {
      process.off('exit', killOnExit);
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
