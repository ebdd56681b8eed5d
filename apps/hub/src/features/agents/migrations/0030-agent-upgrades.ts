import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // The last agent upgrade of each host: started by an agent.upgrade result, ended by the
  // report of the watchdog the upgrade left on the host.
  await db.schema
    .createTable('agent_upgrades')
    .addColumn('host_id', 'text', (c) => c.primaryKey().references('hosts.id').onDelete('cascade'))
    .addColumn('attempt_id', 'text')
    .addColumn('task_id', 'text')
    .addColumn('from_version', 'text')
    .addColumn('to_version', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('restarting', 'upgraded', 'rolled_back', 'failed')`))
    .addColumn('reason', 'text')
    .addColumn('deadline_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('agent_upgrades').execute();
}
