/** Minimal JSON calls against a running hub for tests (the CLI has the typed client). */
export class HubApi {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  async call<T = any>(method: string, path: string, body?: unknown, token = this.token): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // non-JSON bodies (metrics) stay text
    }
    return { status: res.status, body: parsed as T };
  }

  /** Creates a single-use enrollment token and returns its secret. */
  async enrollmentToken(labels: Record<string, string> = {}): Promise<string> {
    const r = await this.call<{ token: string }>('POST', '/v1/enrollment-tokens', { labels });
    if (r.status !== 201) throw new Error(`enrollment token: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.token;
  }

  /** Polls until `check` returns a value (not undefined) or the time is up. */
  async until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
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
  }

  /** Waits for a task to reach one of `states`; returns the task. */
  async waitForTask(taskId: string, states: string[], timeoutMs = 30_000): Promise<any> {
    return this.until(
      `task ${taskId} to be ${states.join('|')}`,
      async () => {
        const r = await this.call('GET', `/v1/tasks/${taskId}`);
        return states.includes(r.body.state) ? r.body : undefined;
      },
      timeoutMs,
    );
  }
}
