import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // One narrow row per Keycloak event: absent fields stay NULL, details (few, short) are jsonb.
  // Keycloak's event id makes a batch sent twice harmless. Rows go with their host.
  await db.schema
    .createTable('keycloak_events')
    .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('realm', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor', 'text')
    .addColumn('client_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('error', 'text')
    .addColumn('resource', 'text')
    .addColumn('details', 'jsonb')
    .addPrimaryKeyConstraint('keycloak_events_pk', ['host_id', 'event_id'])
    .execute();
  // The trail reads newest first, fleet-wide or per host; retention deletes by age.
  await db.schema.createIndex('keycloak_events_at').on('keycloak_events').column('at').execute();
  await db.schema.createIndex('keycloak_events_host_at').on('keycloak_events').columns(['host_id', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('keycloak_events').execute();
}
