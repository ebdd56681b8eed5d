import { taskDefinitions } from '@keyfleet/proto/v1';
import { describe, expect, it } from 'vitest';
import { restoreInstall } from './restore-install.js';

const input = (install?: Record<string, unknown>) =>
  taskDefinitions['backup.restore'].input.parse({
    backupId: 'bk_fresh00001',
    source: { url: '/v1/backup-restores/bk_fresh00001', token: { $secret: 't', value: 'x' } },
    keycloakVersion: '26.4.7',
    dumpSha256: 'a'.repeat(64),
    ...(install
      ? {
          install: {
            version: '26.4.7',
            runtime: 'process',
            database: { kind: 'external', url: 'jdbc:postgresql://db/kc', username: 'kc', password: { $secret: 'db', value: 'p' } },
            hostname: 'https://id.example.com',
            bootstrapAdmin: { username: 'admin', password: { $secret: 'admin', value: 'a' } },
            ...install,
          },
        }
      : {}),
  });

/** What is refused before anything is installed: the install itself is proven by test/e2e/backups.test.ts. */
describe('restoreInstall', () => {
  it('refuses a host without Keycloak when the task carries nothing to install, naming what to give', () => {
    expect(() => restoreInstall(input())).toThrow(
      expect.objectContaining({
        code: 'invalid_input',
        message: expect.stringMatching(/^Keycloak is not installed on this host, .* restore with installConfig \(--install-config\)$/),
      }),
    );
  });

  it('refuses another version than the backup’s, and dev-file, which no dump restores into', () => {
    expect(() => restoreInstall(input({ version: '26.5.0' }))).toThrow(
      expect.objectContaining({
        code: 'invalid_input',
        message: 'backup bk_fresh00001 is of Keycloak 26.4.7, the install config is for 26.5.0: a database is not moved across versions by a restore',
      }),
    );
    expect(() => restoreInstall(input({ database: { kind: 'dev-file' } }))).toThrow(
      expect.objectContaining({
        code: 'invalid_input',
        message: expect.stringMatching(/^a backup restores into Postgres/),
      }),
    );
  });
});
