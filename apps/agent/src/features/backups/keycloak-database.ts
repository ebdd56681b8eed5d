import { TaskFailure } from '../../task-failure.js';
import type { KeycloakInstanceRecord } from '../keycloak/index.js';
import { secretValue } from '../../secret-value.js';

/** How this host reaches the Postgres database of its Keycloak. */
export interface PgTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

/** The database of the installed Keycloak; `dev-file` has none a backup could dump. */
export function keycloakDatabase(record: KeycloakInstanceRecord): PgTarget {
  const db = record.config.database;
  if (db.kind === 'dev-file') {
    throw new TaskFailure(
      'invalid_input',
      'this Keycloak runs on the dev-file database (H2), which cannot be backed up consistently while it runs: install it with database kind "external" (Postgres) or, on docker, "bundled"',
    );
  }
  if (db.kind === 'bundled') {
    if (!record.docker?.database) throw new TaskFailure('invalid_input', 'the instance record has no bundled database container');
    return { host: '127.0.0.1', port: record.docker.database.port, database: 'keycloak', user: 'keycloak', password: secretValue(db.password) };
  }
  return { ...parseJdbcUrl(db.url), user: db.username, password: secretValue(db.password) };
}

/** `jdbc:postgresql://host[:port]/db[?…]` → host, port, database. */
export function parseJdbcUrl(jdbc: string): { host: string; port: number; database: string } {
  const url = new URL(jdbc.replace(/^jdbc:/, ''));
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!url.hostname || !database) throw new TaskFailure('invalid_input', 'the Keycloak database URL names no host or database');
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 5432), database };
}
