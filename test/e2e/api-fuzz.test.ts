import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HubProcess, type NatsServer, type PostgresServer, repoRoot, startHubProcess, startNats, startPostgres } from '@keyfleet/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cache = process.env.KEYFLEET_CACHE ?? join(homedir(), '.cache', 'keyfleet');
const schemathesis = join(cache, 'schemathesis-venv', 'bin', 'schemathesis');
const config = join(repoRoot, 'test', 'e2e', 'api-fuzz.schemathesis.toml');

/** Fixed, so a failure replays: the same seed draws the same requests. */
const SEED = 1;
/** Cases per operation and scenario, at most. */
const MAX_EXAMPLES = 50;
/**
 * The whole run's budget, shared out among the phases by schemathesis: the document has ~50
 * operations and grows with every feature, so a count alone would let the run grow with it.
 */
const MAX_SECONDS = 150;

let fuzzer: ChildProcess | undefined;

/** Runs a command to its end; resolves with its exit code and combined output. */
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
    fuzzer = child;
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** A raw HTTP/1.1 request, for what fetch will not send (TRACE) or sends differently. */
function raw(url: string, method: string, headers: Record<string, string>, body?: AsyncIterable<Buffer>) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; sent: number }>((resolve, reject) => {
    let sent = 0;
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, sent }));
    });
    // The hub may answer and close before the body is all sent: that is the point.
    req.on('error', (err) => (sent > 0 ? undefined : reject(err)));
    if (!body) return req.end();
    void (async () => {
      for await (const chunk of body) {
        if (req.destroyed || !req.write(chunk)) {
          if (req.destroyed) return;
          await new Promise((r) => req.once('drain', r));
        }
        sent += chunk.length;
      }
      req.end();
    })().catch(() => {});
  });
}

async function* chunks(total: number, size = 64 * 1024): AsyncIterable<Buffer> {
  for (let sent = 0; sent < total; sent += size) yield Buffer.alloc(Math.min(size, total - sent), 0x20);
}

/**
 * The hub API against its own OpenAPI document: schemathesis (property-based, from PyPI) runs
 * every check over the examples, coverage, fuzzing and stateful phases against a real hub on
 * real NATS and Postgres, with an admin token, and must find nothing; the hub must log no error
 * while it does. No agent is enrolled: tasks must not run on this machine.
 */
describe('API fuzzing from /v1/openapi.json', () => {
  let nats: NatsServer;
  let pg: PostgresServer;
  let hub: HubProcess;
  let workDir: string;

  beforeAll(async () => {
    if (!existsSync(schemathesis)) {
      throw new Error(
        `schemathesis is missing at ${schemathesis}: run scripts/setup.sh (its schemathesis step makes that venv), ` +
          `or python3 -m venv ${join(cache, 'schemathesis-venv')} && ${join(cache, 'schemathesis-venv', 'bin', 'pip')} install 'schemathesis==4.*'`,
      );
    }
    workDir = await mkdtemp(join(tmpdir(), 'kf-fuzz-'));
    [nats, pg] = await Promise.all([startNats(), startPostgres()]);
    hub = await startHubProcess({ nats, databaseUrl: pg.url, env: { KEYFLEET_LOG_LEVEL: 'info' } });
  });
  afterAll(async () => {
    // Still running only when the test timed out.
    if (fuzzer && fuzzer.exitCode === null) fuzzer.kill('SIGKILL');
    await hub?.stop();
    await Promise.all([nats?.stop(), pg?.stop()]);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  /** Error-level lines of the hub's log, shortened to what names the failure (a stack says the rest). */
  const errorLines = () =>
    hub.proc.output
      .filter((line) => /"level":(50|60)\b/.test(line) || line.includes('request failed'))
      .map((line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; method?: string; path?: string; err?: { message?: string } };
          return `${entry.msg}: ${entry.method ?? ''} ${entry.path ?? ''} ${entry.err?.message ?? ''}`.trim();
        } catch {
          return line.slice(0, 300);
        }
      });

  it('finds no failure, and the hub logs no error', { timeout: 300_000 }, async () => {
    const started = Date.now();
    const { code, output } = await run(
      schemathesis,
      [
        '--config-file',
        config,
        'run',
        `${hub.url}/v1/openapi.json`,
        '--url',
        hub.url,
        '--phases',
        'examples,coverage,fuzzing,stateful',
        // Every check runs by default; naming them here would override the config file's narrow exceptions.
        '--seed',
        String(SEED),
        '--max-examples',
        String(MAX_EXAMPLES),
        '--max-time',
        String(MAX_SECONDS),
        '--generation-database',
        'none',
        // One worker: schemathesis parses schemas in threads, and Python 3.11 is not safe at that.
        '--workers',
        '1',
        '--request-timeout',
        '10',
        '--no-color',
      ],
      workDir,
      // The config file sends it as the Authorization header; schemathesis masks it in what it prints.
      { KEYFLEET_FUZZ_TOKEN: hub.adminToken },
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const cases = output.match(/^\s*\d+ generated.*$/m)?.[0].trim();
    const summary = output.match(/^=+ .* in [\d.]+s =+$/m)?.[0];
    console.log(`schemathesis (seed ${SEED}, at most ${MAX_EXAMPLES} examples, ${MAX_SECONDS} s budget, took ${seconds} s): ${cases ?? '?'} ${summary ?? ''}`);
    if (code !== 0) console.log(output.slice(-20_000));
    expect(code, 'schemathesis exit code (its failures are printed above)').toBe(0);
    expect(cases).toMatch(/^\d+ generated, \d+ passed/);
    expect(cases).not.toMatch(/failed|error/);
    expect(errorLines()).toEqual([]);
  });

  it('answers TRACE with 405 and Allow, and refuses a chunked oversized enrollment before reading it', async () => {
    const trace = await raw(`${hub.url}/v1/tasks`, 'TRACE', {});
    expect(trace.status).toBe(405);
    expect(trace.headers.allow).toBe('GET, HEAD, POST, OPTIONS');

    // No Content-Length: Node sends it chunked, and the hub counts as it reads.
    const big = await raw(`${hub.url}/v1/enroll`, 'POST', { 'content-type': 'application/json' }, chunks(64 * 1024 * 1024));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.text)).toEqual({ error: 'request body is larger than 16384 bytes, the limit of this route' });
    expect(big.sent).toBeLessThan(16 * 1024 * 1024);
    expect(errorLines()).toEqual([]);
  });
});
