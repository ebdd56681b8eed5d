import { describe, expect, it } from 'vitest';
import { keycloakDatabase, parseJdbcUrl } from './keycloak-database.js';

describe('keycloakDatabase', () => {
  it('reads host, port and database from a JDBC URL', () => {
    expect(parseJdbcUrl('jdbc:postgresql://db.example.com:6543/kc?ssl=true')).toEqual({ host: 'db.example.com', port: 6543, database: 'kc' });
    expect(parseJdbcUrl('jdbc:postgresql://127.0.0.1/keycloak')).toEqual({ host: '127.0.0.1', port: 5432, database: 'keycloak' });
  });

  it('refuses dev-file clearly', () => {
    const record = { config: { database: { kind: 'dev-file' } } } as never;
    expect(() => keycloakDatabase(record)).toThrow(/dev-file database .* cannot be backed up/);
  });

  it('takes the password the hub filled in for an external database', () => {
    const record = {
      config: { database: { kind: 'external', url: 'jdbc:postgresql://h:1/d', username: 'kc', password: { $secret: 'kc-db', value: 'pw' } } },
    } as never;
    expect(keycloakDatabase(record)).toEqual({ host: 'h', port: 1, database: 'd', user: 'kc', password: 'pw' });
  });
});
