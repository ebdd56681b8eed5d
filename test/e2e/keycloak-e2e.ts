import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { taskDefinitions, type TaskDefinitions, type TaskName } from '@keyfleet/proto/v1';
import { createEnrollmentToken, enrollAgent, expectStatus, waitForTask, type AgentProcess, type Fleet } from '@keyfleet/test-harness';

/** Shared by the Keycloak e2e files: tasks through the hub, admin REST set-up, clean-up. */

/** An agent with its own environment (JAVA_HOME, DOCKER_HOST, …), enrolled and welcomed. */
export async function keycloakAgent(fleet: Fleet, env: NodeJS.ProcessEnv, opts: { relativeStateDir?: boolean } = {}): Promise<AgentProcess> {
  const agent = await enrollAgent({ hubUrl: fleet.hub.url, token: await createEnrollmentToken(fleet.api), heartbeatIntervalMs: 2_000, env, ...opts });
  fleet.agents.push(agent);
  await agent.start();
  return agent;
}

export async function putSecret(fleet: Fleet, name: string, value: string): Promise<void> {
  await expectStatus(fleet.api.api.v1.secrets[':name'].$put({ param: { name }, json: { value } }), 200);
}

/** A task's params and output as its declaration in proto types them. */
export type TaskParams<K extends TaskName> = TaskDefinitions[K]['input']['_zod']['input'];
export type TaskOutput<K extends TaskName> = TaskDefinitions[K]['output']['_zod']['output'];

/**
 * A finished task as GET /v1/tasks/{id} shows it, its output read with the task's declaration: a
 * succeeded task's output must match it; a failed one's is kept when it does, null otherwise.
 */
export type FinishedTask<K extends TaskName> = Omit<Awaited<ReturnType<typeof waitForTask>>, 'output'> & { output: TaskOutput<K> | null };

/** Runs one task on one host through the hub and returns it once it finished (succeeded or failed). */
export async function runTask<K extends TaskName>(
  fleet: Fleet,
  hostId: string,
  type: K,
  params: TaskParams<K>,
  timeoutMs = 10 * 60_000,
): Promise<FinishedTask<K>> {
  const res = await fleet.api.raw('POST', '/v1/tasks', { body: { type, target: { hostId }, params, timeoutMs } });
  expect(res.status, res.text).toBe(201);
  const taskId = (res.json as { tasks: { id: string }[] }).tasks[0]!.id;
  const task = await waitForTask(fleet.api, taskId, ['succeeded', 'failed', 'cancelled', 'expired'], timeoutMs + 30_000);
  if (task.output === null) return { ...task, output: null };
  const output = taskDefinitions[type].output.safeParse(task.output);
  if (task.state === 'succeeded') expect(output.error, `${type} output against its declaration`).toBeUndefined();
  return { ...task, output: output.success ? (output.data as TaskOutput<K>) : null };
}

interface Finished {
  type: string;
  state: string;
  error: unknown;
  output: unknown;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Fails unless the task succeeded; after it, its output and times are there. */
export function expectSucceeded<T extends Finished>(
  task: T,
): asserts task is T & { state: 'succeeded'; output: NonNullable<T['output']>; startedAt: string; finishedAt: string } {
  expect(task.state, `${task.type}: ${JSON.stringify(task.error ?? task.output)}`).toBe('succeeded');
}

/** Fails unless the task failed; after it, its error is there. */
export function expectFailed<T extends Finished>(task: T): asserts task is T & { state: 'failed'; error: NonNullable<T['error']> } {
  expect(task.state, `${task.type}: ${JSON.stringify(task.output)}`).toBe('failed');
}

/** An access token of the master realm's bootstrap admin (`admin`). */
export async function adminToken(baseUrl: string, password: string): Promise<string> {
  const res = await fetch(`${baseUrl}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: 'admin', password }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`admin login failed: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/**
 * One admin REST call as the bootstrap admin; the parsed JSON answer (undefined when empty), of the
 * shape the caller names: Keycloak's admin API is not typed here.
 */
export async function adminCall<T = unknown>(baseUrl: string, adminPassword: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${baseUrl}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${await adminToken(baseUrl, adminPassword)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A realm with a confidential service-account client, made through the admin REST API. */
export async function createLoginClient(baseUrl: string, adminPassword: string, realm: string, clientId: string, secret: string): Promise<void> {
  const token = await adminToken(baseUrl, adminPassword);
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${baseUrl}/admin${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  };
  await post('/realms', { realm, enabled: true });
  await post(`/realms/${realm}/clients`, {
    clientId,
    secret,
    publicClient: false,
    serviceAccountsEnabled: true,
    standardFlowEnabled: false,
    directAccessGrantsEnabled: false,
  });
}

/** One client-credentials login; true when an access token came back. */
export async function login(baseUrl: string, realm: string, clientId: string, secret: string): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl}/realms/${realm}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await res.json()) as { access_token?: string };
    return res.status === 200 && !!body.access_token;
  } catch {
    return false;
  }
}

/** Resident memory of the JVM under a process-runtime Keycloak (kc.sh forks it). */
export async function processRuntimeRss(stateDir: string): Promise<number | undefined> {
  const [pid] = await supervisedPids(stateDir);
  if (!pid) return undefined;
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const jvm = Number(children.trim().split(/\s+/)[0]) || pid;
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${jvm}/status`, 'utf8').catch(() => ''))?.[1];
  return kb ? Number(kb) * 1024 : undefined;
}

/** The kc.sh pids of the process runtime's Keycloaks (one per slot while an update runs both). */
async function supervisedPids(stateDir: string): Promise<number[]> {
  const dir = join(stateDir, 'keycloak');
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => /^keycloak(-[ab])?\.pid$/.test(f));
  const pids = await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8').then((t) => (JSON.parse(t) as { pid: number }).pid)));
  return pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
}

/** The detached Keycloaks (and the front) outlive their agent by design; a test must not leave them behind. */
export async function killProcessRuntime(stateDir: string): Promise<void> {
  for (const pid of await supervisedPids(stateDir)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export const mb = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${Math.round(bytes / 1024 / 1024)} MiB`);

/** Removes every container and volume a docker-runtime agent made for the instance `prefix`. */
export async function removeDockerInstance(dockerHost: string, prefix: string): Promise<void> {
  const docker = (...args: string[]) =>
    new Promise<string>((resolve) =>
      execFile('docker', args, { env: { ...process.env, DOCKER_HOST: dockerHost } }, (_err, stdout) => resolve(String(stdout).trim())),
    );
  const containers = (await docker('ps', '-aq', '--filter', `label=keyfleet.instance=${prefix}`)).split('\n').filter(Boolean);
  if (containers.length) await docker('rm', '-f', '-v', ...containers);
  const volumes = (await docker('volume', 'ls', '-q', '--filter', `label=keyfleet.instance=${prefix}`)).split('\n').filter(Boolean);
  if (volumes.length) await docker('volume', 'rm', '-f', ...volumes);
}

/** Logs in every 200 ms until stopped; reports how many logins failed and the longest outage. */
export function startProbe(baseUrl: string, clientSecret: string) {
  const results: Array<{ at: number; ok: boolean }> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      results.push({ at, ok: await login(baseUrl, 'kf-e2e', 'kf-probe', clientSecret) });
      await new Promise((r) => setTimeout(r, Math.max(0, 200 - (Date.now() - at))));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      let longest = 0;
      let down: number | undefined;
      for (const r of results) {
        if (!r.ok) down ??= r.at;
        else if (down !== undefined) {
          longest = Math.max(longest, r.at - down);
          down = undefined;
        }
      }
      if (down !== undefined) longest = Math.max(longest, Date.now() - down);
      return { total: results.length, failed: results.filter((r) => !r.ok).length, longestOutageMs: longest };
    },
  };
}
