import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // A backup schedule of the hub's own database instead of hosts: one unit per run (host `hub`),
  // under the same fire key, so of several hubs on one database exactly one backs it up.
  await db.schema
    .alterTable('backup_schedules')
    .addColumn('hub', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('backup_schedules').dropColumn('hub').execute();
}
