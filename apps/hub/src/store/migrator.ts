import { type Kysely, type Migration, type MigrationResult, Migrator } from 'kysely';
import type { HubFeature } from '../hub-feature.js';
import * as m0001 from './migrations/0001-initial.js';
import * as m0002 from './migrations/0002-secrets.js';
import * as m0005 from './migrations/0005-task-events-tx.js';
import * as m0007 from './migrations/0007-nats-revocations.js';

// Imported explicitly (no folder scan) so bundled builds carry every migration.
const coreMigrations: Record<string, Migration> = {
  '0001-initial': m0001,
  '0002-secrets': m0002,
  '0005-task-events-tx': m0005,
  '0007-nats-revocations': m0007,
};

/**
 * The core's migrations and every feature's, in one sequence ordered by name (a
 * feature's tables may reference core ones). Two with one name is a programming error.
 * Each feature numbers in its own block (backups 001x, TLS 002x, …), so a feature's new
 * migration can sort before one another feature added earlier: a database that already
 * ran the later name still takes the new one instead of refusing to migrate.
 */
function migrator(db: Kysely<any>, features: readonly HubFeature[]): Migrator {
  const migrations: Record<string, Migration> = { ...coreMigrations };
  for (const feature of features) {
    for (const [name, migration] of Object.entries(feature.migrations ?? {})) {
      if (Object.hasOwn(migrations, name)) throw new Error(`migration ${name} of feature ${feature.name} is declared twice`);
      migrations[name] = migration;
    }
  }
  return new Migrator({ db, provider: { getMigrations: async () => migrations }, allowUnorderedMigrations: true });
}

export interface MigrationStatus {
  name: string;
  appliedAt: Date | null;
}

/** Applies every pending migration; throws with the failing migration's name and cause. */
export async function migrateUp(db: Kysely<any>, features: readonly HubFeature[]): Promise<MigrationResult[]> {
  const { error, results = [] } = await migrator(db, features).migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return results;
}

/** Every known migration in order, with when it was applied (null = pending). */
export async function migrationStatus(db: Kysely<any>, features: readonly HubFeature[]): Promise<MigrationStatus[]> {
  const infos = await migrator(db, features).getMigrations();
  return infos.map((m) => ({ name: m.name, appliedAt: m.executedAt ?? null }));
}
