import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Fleet-wide backup and drill schedules: cron in a time zone, a host selector, a spread window,
  // a fleet-wide cap on units running at once, and (backups) a retention policy of their own.
  await db.schema
    .createTable('backup_schedules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('backup', 'drill')`))
    .addColumn('cron', 'text', (c) => c.notNull())
    .addColumn('timezone', 'text', (c) => c.notNull())
    .addColumn('selector', 'text')
    .addColumn('window_seconds', 'integer', (c) => c.notNull())
    .addColumn('max_concurrent', 'integer', (c) => c.notNull())
    .addColumn('retention', 'jsonb')
    .addColumn('drill', 'jsonb')
    .addColumn('paused', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('fired_through', 'timestamptz')
    .execute();

  // One row per run: the primary key is the fire key, so of several hubs exactly one inserts it.
  await db.schema
    .createTable('backup_schedule_fires')
    .addColumn('schedule_id', 'text', (c) => c.notNull().references('backup_schedules.id').onDelete('cascade'))
    .addColumn('fire_time', 'timestamptz', (c) => c.notNull())
    .addColumn('fired_at', 'timestamptz', (c) => c.notNull())
    .addColumn('units', 'integer', (c) => c.notNull())
    .addColumn('settled_at', 'timestamptz')
    .addColumn('outcome', 'jsonb')
    .addPrimaryKeyConstraint('backup_schedule_fires_pk', ['schedule_id', 'fire_time'])
    .execute();

  // One unit per host and run: when it may start (spread), until when it may (window), what became of it.
  await db.schema
    .createTable('backup_schedule_units')
    .addColumn('schedule_id', 'text', (c) => c.notNull())
    .addColumn('fire_time', 'timestamptz', (c) => c.notNull())
    .addColumn('host_id', 'text', (c) => c.notNull())
    .addColumn('start_at', 'timestamptz', (c) => c.notNull())
    .addColumn('window_end', 'timestamptz', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('pending', 'claimed', 'started', 'succeeded', 'failed', 'missed', 'skipped')`))
    .addColumn('claimed_at', 'timestamptz')
    .addColumn('task_id', 'text')
    .addColumn('backup_id', 'text')
    .addColumn('error', 'text')
    .addColumn('finished_at', 'timestamptz')
    .addPrimaryKeyConstraint('backup_schedule_units_pk', ['schedule_id', 'fire_time', 'host_id'])
    .addForeignKeyConstraint('backup_schedule_units_fire', ['schedule_id', 'fire_time'], 'backup_schedule_fires', ['schedule_id', 'fire_time'], (fk) =>
      fk.onDelete('cascade'),
    )
    .execute();
  // Every hub looks at the live units every few seconds; finished ones (most rows) stay out of it.
  await sql`CREATE INDEX backup_schedule_units_live ON backup_schedule_units (schedule_id, start_at) WHERE state IN ('pending', 'claimed', 'started')`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('backup_schedule_units').execute();
  await db.schema.dropTable('backup_schedule_fires').execute();
  await db.schema.dropTable('backup_schedules').execute();
}
