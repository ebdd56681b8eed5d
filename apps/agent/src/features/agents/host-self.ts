import { setTimeout as sleep } from 'node:timers/promises';
import { hubRefusal, hubRequest } from './hub-request.js';

/** How the hub sees this host (GET /v1/agent/self). */
export interface HostSelf {
  hostId: string;
  hostname: string;
  status: 'pending' | 'online' | 'offline';
  agentVersion: string | null;
  lastHelloAt: string | null;
  wantedVersion: string | null;
}

export async function hostSelf(stateDir: string, signal?: AbortSignal): Promise<HostSelf> {
  const res = await hubRequest(stateDir, '/v1/agent/self', { signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(10_000)]) : undefined });
  if (!res.ok) throw new Error(`the hub refused to say how it sees this host: ${await hubRefusal(res)}`);
  return (await res.json()) as HostSelf;
}

/**
 * Asks the hub until it reports this host online with `version` in its last hello, or the time
 * is up; resolves with the last answer and, when it never came, why (the hub's last answer or
 * refusal).
 */
export async function waitUntilReported(
  stateDir: string,
  version: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ ok: true; self: HostSelf } | { ok: false; self?: HostSelf; reason: string }> {
  const deadline = Date.now() + timeoutMs;
  let last: HostSelf | undefined;
  let reason = 'the hub was not asked';
  for (;;) {
    signal?.throwIfAborted();
    try {
      last = await hostSelf(stateDir, signal);
      if (last.status === 'online' && last.agentVersion === version) return { ok: true, self: last };
      reason = `the hub reports the host ${last.status} with agent ${last.agentVersion ?? 'unknown'}`;
    } catch (err) {
      reason = (err as Error).message;
    }
    if (Date.now() >= deadline) return { ok: false, self: last, reason };
    await sleep(Math.min(1_000, Math.max(0, deadline - Date.now())), undefined, { signal });
  }
}
