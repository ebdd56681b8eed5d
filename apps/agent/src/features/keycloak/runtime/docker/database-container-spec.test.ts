import { describe, expect, it } from 'vitest';
import { bundledDbUrl, databaseContainerSpec } from './database-container-spec.js';

const input = {
  name: 'keyfleet-keycloak-db',
  image: 'postgres:17',
  password: 'pw',
  port: 5433,
  volume: 'keyfleet-keycloak-db-data',
  instance: 'keyfleet-keycloak',
};

describe('databaseContainerSpec', () => {
  it('host network: listens on its port on loopback only, data in a named volume', () => {
    const spec = databaseContainerSpec({ ...input, networkMode: 'host' });
    expect(spec.Env).toEqual(['POSTGRES_USER=keycloak', 'POSTGRES_PASSWORD=pw', 'POSTGRES_DB=keycloak', 'PGPORT=5433', 'POSTGRES_LISTEN=127.0.0.1']);
    expect(spec.Cmd).toEqual(['-c', 'listen_addresses=127.0.0.1']);
    expect(spec.HostConfig).toMatchObject({ NetworkMode: 'host', RestartPolicy: { Name: 'unless-stopped' } });
    expect(spec.HostConfig!.Mounts).toEqual([{ Type: 'volume', Source: 'keyfleet-keycloak-db-data', Target: '/var/lib/postgresql/data' }]);
    expect(bundledDbUrl({ ...input, networkMode: 'host' })).toBe('jdbc:postgresql://127.0.0.1:5433/keycloak');
  });

  it('user network: the default port, reached by container name', () => {
    const spec = databaseContainerSpec({ ...input, networkMode: 'keyfleet' });
    expect(spec.Cmd).toBeUndefined();
    expect(spec.Env).not.toContain('PGPORT=5433');
    expect(bundledDbUrl({ ...input, networkMode: 'keyfleet' })).toBe('jdbc:postgresql://keyfleet-keycloak-db:5432/keycloak');
  });
});
