export interface KeycloakResponse {
  status: number;
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown;
  text: string;
}

export interface KeycloakFetchOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Sent as application/x-www-form-urlencoded (token requests). */
  form?: Record<string, string>;
  bearer?: string;
}

/** Why a request got no HTTP answer, in the words an operator needs ("connection refused to …"). */
function describeFailure(err: unknown, url: string, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000}s from ${url}`;
  const code = e.cause?.code;
  if (code === 'ECONNREFUSED') return `connection refused to ${url}`;
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return `connection reset by ${url}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the host of ${url}`;
  return `${url} unreachable: ${code ?? e.cause?.message ?? e.message}`;
}

/**
 * One request to Keycloak with a timeout; a request that gets no HTTP answer throws with a
 * readable reason. Any HTTP status is returned, never thrown: callers judge it.
 */
export async function keycloakFetch(url: string, opts: KeycloakFetchOptions = {}): Promise<KeycloakResponse> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: opts.form ? 'POST' : 'GET',
      headers,
      body: opts.form ? new URLSearchParams(opts.form) : undefined,
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    });
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw new Error(describeFailure(err, url, timeoutMs));
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}
