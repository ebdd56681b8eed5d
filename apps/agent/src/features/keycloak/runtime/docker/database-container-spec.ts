import type Docker from 'dockerode';

export interface DatabaseContainerInput {
  name: string;
  image: string;
  password: string;
  /** With host networking the port it listens on (loopback only); on a user network it keeps 5432. */
  port: number;
  networkMode: string;
  volume: string;
  instance: string;
}

const DATABASE_NAME = 'keycloak';
export const DATABASE_USER = 'keycloak';

/**
 * The bundled Postgres beside Keycloak. Works with the official postgres image and
 * Keyfleet's locally built one: both take POSTGRES_USER/PASSWORD/DB and PGPORT, and a
 * leading `-c` argument goes to the server (the local image also reads POSTGRES_LISTEN).
 */
export function databaseContainerSpec(i: DatabaseContainerInput): Docker.ContainerCreateOptions {
  const host = i.networkMode === 'host';
  return {
    name: i.name,
    Image: i.image,
    Env: [
      `POSTGRES_USER=${DATABASE_USER}`,
      `POSTGRES_PASSWORD=${i.password}`,
      `POSTGRES_DB=${DATABASE_NAME}`,
      ...(host ? [`PGPORT=${i.port}`, 'POSTGRES_LISTEN=127.0.0.1'] : []),
    ],
    // Under host networking Postgres would otherwise listen on every address of the host.
    ...(host ? { Cmd: ['-c', 'listen_addresses=127.0.0.1'] } : {}),
    Labels: { 'keyfleet.managed': 'true', 'keyfleet.instance': i.instance, 'keyfleet.role': 'database' },
    HostConfig: {
      NetworkMode: i.networkMode,
      RestartPolicy: { Name: 'unless-stopped' },
      Mounts: [{ Type: 'volume', Source: i.volume, Target: '/var/lib/postgresql/data' }],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '20m', 'max-file': '3' } },
    },
  };
}

/** The JDBC URL Keycloak uses for the bundled database. */
export function bundledDbUrl(i: Pick<DatabaseContainerInput, 'name' | 'port' | 'networkMode'>): string {
  return i.networkMode === 'host' ? `jdbc:postgresql://127.0.0.1:${i.port}/${DATABASE_NAME}` : `jdbc:postgresql://${i.name}:5432/${DATABASE_NAME}`;
}
