import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drillKeycloakHome } from './drill-keycloak-home.js';

describe('drillKeycloakHome', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'kf-drill-home-'));
  });
  afterAll(() => rm(stateDir, { recursive: true, force: true }));

  it('says which version to install on a drill host without Keycloak', async () => {
    const keycloak = { version: '26.7.4', runtime: 'process' as const, buildOptions: ['--db=postgres'], hostname: 'https://id.example.com' };
    await expect(drillKeycloakHome(stateDir, keycloak, AbortSignal.timeout(10_000))).rejects.toThrow(
      'this drill host has no Keycloak 26.7.4 distribution (no Keycloak installed): install Keycloak 26.7.4 with the process runtime on it',
    );
  });
});
