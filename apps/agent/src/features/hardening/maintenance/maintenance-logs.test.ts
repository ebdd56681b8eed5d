import { mkdir, mkdtemp, readFile, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createLogger } from '@keyfleet/log';
import { taskDefinitions } from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskContext } from '../../../task-handler.js';
import { maintenanceLogs } from './maintenance-logs.js';

describe('maintenance.logs', () => {
  let state: string;
  const ctx = () =>
    ({ signal: new AbortController().signal, progress: () => {}, log: createLogger('test', { level: 'silent' }), stateDir: state }) as unknown as TaskContext;
  const input = (o: object = {}) => taskDefinitions['maintenance.logs'].input.parse({ maxBytes: 1024, keep: 2, ...o });
  beforeAll(async () => {
    state = await mkdtemp(join(tmpdir(), 'kf-logs-'));
    await mkdir(join(state, 'keycloak'), { recursive: true });
  });
  afterAll(async () => {
    if (state) await rm(state, { recursive: true, force: true });
  });

  it('rotates the logs over the size into gzip copies, keeps at most `keep`, and leaves small ones alone', async () => {
    const agentLog = join(state, 'agent.log');
    const kcLog = join(state, 'keycloak', 'keycloak-a.log');
    const lines = (tag: string) => Array.from({ length: 200 }, (_, i) => `${tag} line ${i}\n`).join('');
    await writeFile(agentLog, lines('first'));
    await writeFile(kcLog, 'small\n');
    await writeFile(join(state, 'identity.json'), lines('not a log'));

    const first = await maintenanceLogs(input(), ctx());
    expect(first.files).toEqual([
      { path: agentLog, bytes: Buffer.byteLength(lines('first')), rotated: true, copies: 1 },
      { path: kcLog, bytes: 6, rotated: false, copies: 0 },
    ]);
    expect(first.freedBytes).toBeGreaterThan(0);
    expect((await stat(agentLog)).size).toBe(0);
    expect(gunzipSync(await readFile(`${agentLog}.1.gz`)).toString()).toBe(lines('first'));

    // The writer goes on appending; two more rotations keep the newest two copies.
    await appendFile(agentLog, lines('second'));
    await maintenanceLogs(input(), ctx());
    await appendFile(agentLog, lines('third'));
    const third = await maintenanceLogs(input(), ctx());
    expect(third.files[0]).toMatchObject({ rotated: true, copies: 2 });
    expect(gunzipSync(await readFile(`${agentLog}.1.gz`)).toString()).toBe(lines('third'));
    expect(gunzipSync(await readFile(`${agentLog}.2.gz`)).toString()).toBe(lines('second'));
    await expect(stat(`${agentLog}.3.gz`)).rejects.toThrow();
    expect(taskDefinitions['maintenance.logs'].summary(third)).toBe('1 of 2 log files rotated, 0 MiB freed');
  });
});
