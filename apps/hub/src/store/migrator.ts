import { Migrator, type Kysely, type Migration, type MigrationResult } from 'kysely';
import * as m0001 from './migrations/0001-initial.js';
import * as m0002 from './migrations/0002-secrets.js';
import * as m0003 from './migrations/0003-host-keycloak.js';
import * as m0004 from './migrations/0004-realm-specs.js';
import * as m0005 from './migrations/0005-task-events-tx.js';

// Imported explicitly (no folder scan) so bundled builds carry every migration.
const migrations: Record<string, Migration> = {
  '0001-initial': m0001,
  '0002-secrets': m0002,
  '0003-host-keycloak': m0003,
  '0004-realm-specs': m0004,
  '0005-task-events-tx': m0005,
};

function migrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

export interface MigrationStatus {
  name: string;
  appliedAt: Date | null;
}

/** Applies every pending migration; throws with the failing migration's name and cause. */
export async function migrateUp(db: Kysely<any>): Promise<MigrationResult[]> {
  const { error, results = [] } = await migrator(db).migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return results;
}

/** Every known migration in order, with when it was applied (null = pending). */
export async function migrationStatus(db: Kysely<any>): Promise<MigrationStatus[]> {
  const infos = await migrator(db).getMigrations();
  return infos.map((m) => ({ name: m.name, appliedAt: m.executedAt ?? null }));
}
