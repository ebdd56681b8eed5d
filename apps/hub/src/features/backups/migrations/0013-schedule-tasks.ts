import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // A third kind of schedule: any declared task type with its params, one task per matched host
  // and run (scheduled hardening audits, maintenance reports), with the same fire key, spread
  // window and fleet-wide cap as backups and drills.
  await sql`ALTER TABLE backup_schedules DROP CONSTRAINT backup_schedules_kind_check`.execute(db);
  await sql`ALTER TABLE backup_schedules ADD CONSTRAINT backup_schedules_kind_check CHECK (kind IN ('backup', 'drill', 'task'))`.execute(db);
  await db.schema.alterTable('backup_schedules').addColumn('task', 'jsonb').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('backup_schedules').dropColumn('task').execute();
  await sql`DELETE FROM backup_schedules WHERE kind = 'task'`.execute(db);
  await sql`ALTER TABLE backup_schedules DROP CONSTRAINT backup_schedules_kind_check`.execute(db);
  await sql`ALTER TABLE backup_schedules ADD CONSTRAINT backup_schedules_kind_check CHECK (kind IN ('backup', 'drill'))`.execute(db);
}
