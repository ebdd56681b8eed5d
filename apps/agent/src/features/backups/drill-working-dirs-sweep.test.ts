import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@keyfleet/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drillWorkingDirsSweep } from './drill-working-dirs-sweep.js';

describe('drillWorkingDirsSweep', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'kf-drill-sweep-'));
  });
  afterAll(() => rm(stateDir, { recursive: true, force: true }));

  it('removes what an interrupted drill left (a plaintext realm export, staged themes) and nothing else', async () => {
    const root = join(stateDir, 'backups');
    await mkdir(join(root, '.realm-export-abc123', 'realms'), { recursive: true });
    await writeFile(join(root, '.realm-export-abc123', 'realms', 'kf-realm.json'), '{"realm":"kf"}');
    await mkdir(join(root, '.drill-files-def456', 'themes'), { recursive: true });
    await mkdir(join(root, 'drill-keycloak'), { recursive: true });
    await writeFile(join(root, 'scratch-keycloak.json'), '{}');
    const ctx = { stateDir, log: createLogger('test', { level: 'silent' }) } as Parameters<typeof drillWorkingDirsSweep.start>[0];
    const service = await drillWorkingDirsSweep.start(ctx);
    await service.stop();
    expect((await readdir(root)).sort()).toEqual(['drill-keycloak', 'scratch-keycloak.json']);
  });

  it('starts on a state dir without backups', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'kf-drill-sweep-empty-'));
    const ctx = { stateDir: empty, log: createLogger('test', { level: 'silent' }) } as Parameters<typeof drillWorkingDirsSweep.start>[0];
    await expect(drillWorkingDirsSweep.start(ctx)).resolves.toBeDefined();
    await rm(empty, { recursive: true, force: true });
  });
});
