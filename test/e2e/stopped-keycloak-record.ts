import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes the instance record `keycloak.install` would leave for a stopped Keycloak 26.4.7 on an
 * external Postgres, so backup tests can dump a Keycloak-shaped database without booting Keycloak.
 */
export async function writeStoppedKeycloakRecord(stateDir: string, db: { host: string; database: string; username: string }): Promise<void> {
  const now = new Date().toISOString();
  const config = {
    version: '26.4.7',
    runtime: 'process',
    database: { kind: 'external', url: `jdbc:postgresql://${db.host}/${db.database}`, username: db.username, password: { $secret: 'kc-db', value: 'trust' } },
    hostname: 'http://127.0.0.1:1',
    httpPort: 1,
    managementPort: 2,
    features: [],
    bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin', value: 'unused' } },
  };
  const record = {
    runtime: 'process',
    version: '26.4.7',
    baseUrl: 'http://127.0.0.1:1',
    managementUrl: 'http://127.0.0.1:2',
    hostname: 'http://127.0.0.1:1',
    httpPort: 1,
    managementPort: 2,
    adminUser: 'admin',
    adminPassword: 'unused',
    configHash: 'test',
    config,
    desiredState: 'stopped',
    installedAt: now,
    updatedAt: now,
  };
  await mkdir(join(stateDir, 'keycloak'), { recursive: true, mode: 0o700 });
  await writeFile(join(stateDir, 'keycloak', 'instance.json'), JSON.stringify(record), { mode: 0o600 });
}
