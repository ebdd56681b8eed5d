import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Projections of Keycloak task results (see features/keycloak/keycloak-projections.ts; moved to keycloak_hosts by 0006).
  await db.schema.alterTable('hosts').addColumn('keycloak', 'jsonb').addColumn('last_verification', 'jsonb').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('hosts').dropColumn('keycloak').dropColumn('last_verification').execute();
}
