import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeycloakInstanceRecord } from '../keycloak/index.js';
import { keycloakFiles } from './keycloak-files.js';

describe('keycloakFiles', () => {
  let dir: string;
  let home: string;
  let stateDir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-keycloak-files-'));
    home = join(dir, 'keycloak-26.7.4');
    stateDir = join(dir, 'state');
    await mkdir(join(home, 'conf'), { recursive: true });
    await mkdir(join(home, 'themes', 'acme', 'login'), { recursive: true });
    await mkdir(join(home, 'data'), { recursive: true });
    await writeFile(join(home, 'conf', 'keycloak.conf'), 'hostname=sso.example.com\n');
    await writeFile(join(home, 'themes', 'acme', 'login', 'theme.properties'), 'parent=keycloak\n');
    await writeFile(join(home, 'data', 'cache.bin'), 'not backed up');
    await mkdir(join(stateDir, 'keycloak', 'tls'), { recursive: true });
    await writeFile(join(stateDir, 'keycloak', 'tls', 'certificate.pem'), 'CERT\n');
    await writeFile(join(stateDir, 'keycloak', 'tls', 'private-key.pem'), 'KEY\n', { mode: 0o600 });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes the home’s conf, providers and themes, and the certificate and key the front serves', async () => {
    const files = await keycloakFiles({ process: { installDir: home } } as KeycloakInstanceRecord, stateDir);
    expect(files.map((f) => f.path)).toEqual([
      'keycloak/conf/keycloak.conf',
      'keycloak/themes/acme/login/theme.properties',
      'tls/certificate.pem',
      'tls/private-key.pem',
    ]);
    expect(files.find((f) => f.path === 'tls/private-key.pem')?.mode).toBe(0o600);
  });

  it('a docker Keycloak has no home on the host: its certificate and key still go in', async () => {
    const files = await keycloakFiles({ docker: { containerName: 'kc' } } as KeycloakInstanceRecord, stateDir);
    expect(files.map((f) => f.path)).toEqual(['tls/certificate.pem', 'tls/private-key.pem']);
  });
});
