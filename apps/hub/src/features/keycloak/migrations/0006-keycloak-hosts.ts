import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // The Keycloak read model leaves the core hosts table for a table the keycloak feature owns.
  await db.schema
    .createTable('keycloak_hosts')
    .addColumn('host_id', 'text', (c) => c.primaryKey().references('hosts.id').onDelete('cascade'))
    .addColumn('instance', 'jsonb')
    .addColumn('last_verification', 'jsonb')
    .execute();
  await sql`INSERT INTO keycloak_hosts (host_id, instance, last_verification)
            SELECT id, keycloak, last_verification FROM hosts
             WHERE keycloak IS NOT NULL OR last_verification IS NOT NULL`.execute(db);
  await db.schema.alterTable('hosts').dropColumn('keycloak').dropColumn('last_verification').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('hosts').addColumn('keycloak', 'jsonb').addColumn('last_verification', 'jsonb').execute();
  await sql`UPDATE hosts h SET keycloak = k.instance, last_verification = k.last_verification
              FROM keycloak_hosts k WHERE k.host_id = h.id`.execute(db);
  await db.schema.dropTable('keycloak_hosts').execute();
}
