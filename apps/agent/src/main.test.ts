import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startNats, type NatsServer } from '@keyfleet/test-harness';
import {
  ack,
  decode,
  encode,
  hello,
  parseHubSubject,
  progress,
  result,
  subjects,
  task as taskMessage,
  taskReply,
  welcome,
  type Progress,
  type Result,
} from '@keyfleet/proto/v1';

const main = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');
const enc = new TextEncoder();

function cli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: join(dirname(main), '..'),
    env: { ...process.env, KEYFLEET_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, out, exited };
}

describe('keyfleet-agent CLI', () => {
  let nats: NatsServer;
  let hubNc: NatsConnection;
  let http: Server;
  let hubUrl: string;
  let stateDir: string;
  const children: ChildProcess[] = [];
  const hellos: string[] = [];
  const progressSeen: Progress[] = [];
  const results: Result[] = [];

  beforeAll(async () => {
    nats = await startNats();
    hubNc = await connect({ servers: nats.url, authenticator: credsAuthenticator(enc.encode(await nats.authority.hubCreds())) });
    hubNc.subscribe(subjects.hub.wildcard, {
      callback: (_e, m) => {
        const kind = parseHubSubject(m.subject)?.kind;
        if (kind === 'hello') {
          hellos.push(decode(hello, m.data).hostId);
          m.respond(encode(welcome, { kind: 'welcome', hubVersion: 'fake' }));
        } else if (kind === 'progress') progressSeen.push(decode(progress, m.data));
        else if (kind === 'result') {
          const r = decode(result, m.data);
          results.push(r);
          m.respond(encode(ack, { kind: 'ack', taskId: r.taskId }));
        }
      },
    });
    await hubNc.flush();
    // The hub's enrollment endpoint, reduced to its contract: a token check and a real JWT for the sent key.
    http = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', async () => {
        const { token, publicKey } = JSON.parse(body) as { token: string; publicKey: string };
        if (token !== 'kfe_good') return res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unknown enrollment token' }));
        const jwt = await nats.authority.agentJwt('h-cli', publicKey);
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ hostId: 'h-cli', natsServers: [nats.url], jwt }));
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    hubUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    stateDir = join(await mkdtemp(join(tmpdir(), 'kf-cli-')), 'state');
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await hubNc?.close();
    await nats?.stop();
    await new Promise((r) => http?.close(r));
    await rm(join(stateDir, '..'), { recursive: true, force: true });
  });

  it("exits 1 with the hub's message when enrollment is refused, without echoing the token", async () => {
    const { out, exited } = cli(['enroll', '--hub', hubUrl, '--token', 'kfe_wrong_secret', '--state-dir', stateDir]);
    expect(await exited).toBe(1);
    expect(out.stderr).toContain('hub refused enrollment (HTTP 401): unknown enrollment token');
    expect(out.stderr + out.stdout).not.toContain('kfe_wrong_secret');
  });

  it('enrolls, runs, reports a task cut off by a crash as interrupted, refuses a second agent on its state dir, and stops cleanly on SIGTERM', async () => {
    const enrolled = cli(['enroll', '--hub', hubUrl, '--state-dir', stateDir, '--label', 'env=cli'], { KEYFLEET_ENROLL_TOKEN: 'kfe_good' });
    expect(await enrolled.exited).toBe(0);
    expect(enrolled.out.stdout).toContain('enrolled as h-cli');

    const first = cli(['run', '--state-dir', stateDir], { KEYFLEET_HEARTBEAT_INTERVAL_MS: '1000' });
    children.push(first.child);
    await vi.waitFor(() => expect(hellos).toContain('h-cli'), { timeout: 20_000, interval: 100 });
    const task = encode(taskMessage, {
      kind: 'task',
      taskId: 't-crash',
      type: 'noop',
      params: { delayMs: 60_000 },
      timeoutMs: 120_000,
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
    });
    const reply = decode(taskReply, (await hubNc.request(subjects.agent.task('h-cli'), task, { timeout: 5_000 })).data);
    expect(reply.status).toBe('accepted');
    await vi.waitFor(() => expect(progressSeen.some((p) => p.taskId === 't-crash' && p.stage === 'started')).toBe(true));
    first.child.kill('SIGKILL');
    await first.exited;

    const second = cli(['run', '--state-dir', stateDir]);
    children.push(second.child);
    await vi.waitFor(() => expect(results.find((r) => r.taskId === 't-crash')).toMatchObject({ outcome: 'failed', error: { code: 'interrupted' } }), {
      timeout: 20_000,
      interval: 100,
    });
    // While it runs, nothing else may use its state dir: a second agent would run every task again.
    const intruder = cli(['run', '--state-dir', stateDir]);
    expect(await intruder.exited).toBe(1);
    expect(intruder.out.stderr).toContain(`is in use by keyfleet-agent (pid ${second.child.pid}); stop it first`);
    const reenroll = cli(['enroll', '--hub', hubUrl, '--state-dir', stateDir, '--force'], { KEYFLEET_ENROLL_TOKEN: 'kfe_good' });
    expect(await reenroll.exited).toBe(1);
    expect(reenroll.out.stderr).toContain(`is in use by keyfleet-agent (pid ${second.child.pid}); stop it first`);

    const signalled = Date.now();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5_000);
    expect(second.out.stderr).toContain('agent stopped');
  });
});
