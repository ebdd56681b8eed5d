import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Every ACME order any hub of the fleet placed, per directory, for the fleet-wide order budget
  // (CAs limit new orders per account and window); rows older than the window are pruned.
  await db.schema
    .createTable('acme_orders')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('directory_url', 'text', (c) => c.notNull())
    .addColumn('ordered_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('acme_orders_window').on('acme_orders').columns(['directory_url', 'ordered_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('acme_orders').execute();
}
