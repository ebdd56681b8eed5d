import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keycloakConfig } from '@keyfleet/proto/v1';
import { loadInstance, saveInstance, type KeycloakInstanceRecord } from './instance-store.js';

const record: KeycloakInstanceRecord = {
  runtime: 'process',
  version: '26.7.4',
  baseUrl: 'http://127.0.0.1:8080',
  managementUrl: 'http://127.0.0.1:9000',
  hostname: 'id.example.com',
  httpPort: 8080,
  managementPort: 9000,
  adminUser: 'admin',
  adminPassword: 'very-secret-admin',
  configHash: 'abc',
  config: keycloakConfig.parse({
    version: '26.7.4',
    runtime: 'process',
    distUrl: '/x.tar.gz',
    database: { kind: 'dev-file' },
    hostname: 'id.example.com',
    bootstrapAdmin: { username: 'admin', password: { $secret: 'a', value: 'very-secret-admin' } },
  }),
  desiredState: 'running',
  installedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  process: { installDir: '/x', supervisor: 'child', javaHome: '/jdk' },
};

describe('instance store', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'kf-state-'));
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  it('round-trips the record in a 0600 file inside a 0700 directory', async () => {
    expect(await loadInstance(stateDir)).toBeUndefined();
    await saveInstance(stateDir, record);
    expect(await loadInstance(stateDir)).toEqual(record);
    expect((await stat(join(stateDir, 'keycloak'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(stateDir, 'keycloak', 'instance.json'))).mode & 0o777).toBe(0o600);
  });

  it('a corrupt record fails without quoting it (it holds the admin password)', async () => {
    await saveInstance(stateDir, record);
    await writeFile(join(stateDir, 'keycloak', 'instance.json'), '{"adminPassword":"very-secret-admin"');
    const err = await loadInstance(stateDir).catch((e: Error) => e);
    expect(String(err)).toMatch(/instance record .* is not valid JSON/);
    expect(String(err)).not.toContain('very-secret-admin');
  });
});
