import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // The certificate a host's Keycloak config asks for (`tls.certificate` of keycloak.install or
  // keycloak.update): at most one per host, kept in step with the last config applied there.
  await db.schema
    .alterTable('certificates')
    .addColumn('requested_by_config', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.schema
    .createIndex('certificates_host_config')
    .on('certificates')
    .column('host_id')
    .unique()
    .where(sql.ref('requested_by_config'), '=', true)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('certificates_host_config').execute();
  await db.schema.alterTable('certificates').dropColumn('requested_by_config').execute();
}
