import { execFile } from 'node:child_process';
import { join } from 'node:path';

/**
 * Untyped JSON calls and polling for the metrics and alerts e2e tests, which also read the
 * text endpoint (/v1/fleet/metrics) and need no more than status and body.
 */
export function plainHubApi(url: string, token: string) {
  const call = async <T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // text bodies (the Prometheus exposition) stay text
    }
    return { status: res.status, body: parsed as T };
  };
  return {
    call,
    async enrollmentToken(labels: Record<string, string> = {}): Promise<string> {
      const r = await call<{ token: string }>('POST', '/v1/enrollment-tokens', { labels });
      if (r.status !== 201) throw new Error(`enrollment token: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.token;
    },
    /** Polls until `check` returns a value (not undefined) or the time is up. */
    async until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      let last: unknown;
      while (Date.now() < deadline) {
        try {
          const v = await check();
          if (v !== undefined) return v;
        } catch (err) {
          last = err;
        }
        await new Promise((r) => setTimeout(r, everyMs));
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    },
  };
}

/**
 * Runs the `keyfleet` CLI against a hub without blocking the event loop: a blocking spawnSync
 * leaves this process's idle keep-alive sockets to be closed by the hub unnoticed, and the next
 * fetch then fails on a dead socket.
 */
export function runCli(repoRoot: string, hubUrl: string, token: string, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      join(repoRoot, 'keyfleet'),
      args,
      { env: { ...process.env, KEYFLEET_HUB: hubUrl, KEYFLEET_TOKEN: token }, timeout: 60_000, encoding: 'utf8' },
      (_err, stdout, stderr) => resolve({ status: child.exitCode, stdout, stderr }),
    );
  });
}
