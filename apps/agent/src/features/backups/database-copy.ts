import { spawn } from 'node:child_process';
import { open, rm, stat } from 'node:fs/promises';
import type { PgTarget } from './keycloak-database.js';
import { pgBinary } from './pg-binary.js';

/**
 * Drops every relation of the schema Keycloak's tables live in, so the copy comes back into an
 * empty schema: a newer Keycloak adds tables the older dump does not know, and `--clean` would
 * leave them behind (the next upgrade would then fail creating them).
 */
const EMPTY_SCHEMA = `DO $kf$ DECLARE r record; BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') LOOP
    EXECUTE format('DROP %s IF EXISTS %I.%I CASCADE',
      CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
      current_schema(), r.relname);
  END LOOP;
END $kf$;
`;

const lastLines = (text: string, n = 3) => text.trim().split('\n').slice(-n).join(' ');

/**
 * A plaintext `pg_dump -Fc` of Keycloak's database in one file of the agent's 0700 state dir,
 * for the one thing the agent cannot do with its backups: read one back. It exists only while
 * a Keycloak upgrade runs (taken once the old Keycloak stopped, so it holds every write) and is
 * put back by a rollback in a single transaction: the schema emptied, then the dump restored.
 */
export class DatabaseCopy {
  constructor(readonly file: string) {}

  async exists(): Promise<boolean> {
    return stat(this.file).then(
      (s) => s.size > 0,
      () => false,
    );
  }

  /** Dumps the database into the file (0600); resolves with its size. */
  async take(db: PgTarget, signal: AbortSignal): Promise<{ bytes: number; ms: number }> {
    const started = Date.now();
    const pgDump = await pgBinary('pg_dump', await serverMajor(db));
    const out = await open(this.file, 'w', 0o600);
    try {
      const child = spawn(pgDump.path, ['-Fc', '--no-password', '-h', db.host, '-p', String(db.port), '-U', db.user, '-d', db.database], {
        // The password goes by environment, never on the command line.
        env: { ...process.env, PGPASSWORD: db.password, PGCONNECT_TIMEOUT: '10' },
        stdio: ['ignore', out.fd, 'pipe'],
        signal,
      });
      const { code, stderr } = await exited(child);
      if (code !== 0) throw new Error(`pg_dump exited ${code}: ${lastLines(stderr)}`);
    } catch (err) {
      await out.close();
      await this.remove();
      throw new Error(`copying the database before the upgrade failed: ${(err as Error).message}`);
    }
    await out.close();
    return { bytes: (await stat(this.file)).size, ms: Date.now() - started };
  }

  /** Empties the schema and restores the copy, as one transaction: a failure changes nothing. */
  async restore(db: PgTarget, signal: AbortSignal): Promise<{ ms: number }> {
    const started = Date.now();
    const major = await serverMajor(db);
    const [pgRestore, psql] = [await pgBinary('pg_restore', major), await pgBinary('psql', major)];
    const env = { ...process.env, PGPASSWORD: db.password, PGCONNECT_TIMEOUT: '10' };
    const apply = spawn(
      psql.path,
      ['-X', '-q', '--single-transaction', '-v', 'ON_ERROR_STOP=1', '--no-password', '-h', db.host, '-p', String(db.port), '-U', db.user, '-d', db.database],
      { env, stdio: ['pipe', 'ignore', 'pipe'], signal },
    );
    const script = spawn(pgRestore.path, ['--no-owner', '--no-privileges', '-f', '-', this.file], { env, stdio: ['ignore', 'pipe', 'pipe'], signal });
    apply.stdin.on('error', () => undefined);
    apply.stdin.write(EMPTY_SCHEMA);
    script.stdout.pipe(apply.stdin);
    const [scripted, applied] = await Promise.all([exited(script), exited(apply)]);
    if (scripted.code !== 0) throw new Error(`pg_restore exited ${scripted.code}: ${lastLines(scripted.stderr)}`);
    if (applied.code !== 0) throw new Error(`psql exited ${applied.code}: ${lastLines(applied.stderr)}`);
    return { ms: Date.now() - started };
  }

  async remove(): Promise<void> {
    await rm(this.file, { force: true });
  }
}

async function serverMajor(db: PgTarget): Promise<number> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ ...db, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    return Number(version.split('.')[0]);
  } catch (err) {
    throw new Error(`cannot connect to Keycloak's database ${db.host}:${db.port}/${db.database}: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function exited(child: import('node:child_process').ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  return new Promise((resolve) => {
    child.once('error', (err) => resolve({ code: -1, stderr: err.message }));
    child.once('close', (code) => resolve({ code, stderr }));
  });
}
