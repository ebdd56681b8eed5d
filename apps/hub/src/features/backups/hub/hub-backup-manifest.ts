/** The tar entry (and catalog host id) naming the hub: host ids are `h_…`, so it never names a host. */
export const HUB_HOST_ID = 'hub';

/**
 * The manifest of a hub backup unit (its last tar entry, and the catalog's `manifest`): what the
 * database held (newest migration, rows per table, read in the state the dump holds) and how to
 * put it back.
 */
export interface HubBackupManifest {
  format: 'keyfleet-hub-backup/1';
  backupId: string;
  hub: { version: string; database: 'postgres' | 'pglite' };
  /** The newest migration applied: a hub of this version or newer opens the restored database. */
  migration: string | null;
  /** Rows per table of the `public` schema. */
  tables: Record<string, number>;
  database: PgDumpDatabase | PgliteDatabase;
  /** Every file of a PGlite data dir with size and sha256 (empty for a pg_dump). */
  files: Array<{ path: string; size: number; sha256: string }>;
  startedAt: string;
  finishedAt: string;
}

/** A Postgres hub: `pg_dump -Fc`, split into tar entries (`parts`, concatenated they are the dump). */
export interface PgDumpDatabase {
  format: 'pg_dump-custom';
  serverVersion: string;
  pgDumpVersion: string;
  size: number;
  sha256: string;
  parts: string[];
}

/** An embedded hub: PGlite's data dir as files under `root`, taken while no statement ran. */
export interface PgliteDatabase {
  format: 'pglite-datadir';
  serverVersion: string;
  root: string;
}
