import type { ColumnType, Kysely } from 'kysely';
import type { Database } from '../../store/database.js';

export type UpgradeState = 'restarting' | 'upgraded' | 'rolled_back' | 'failed';

/** The agents feature's own tables (migrations in ./migrations). */
export type AgentsTables = {
  agent_upgrades: {
    host_id: string;
    /** Names one attempt, so a late task result never overwrites the outcome its watchdog reported. */
    attempt_id: string | null;
    task_id: string | null;
    from_version: string | null;
    to_version: string;
    state: UpgradeState;
    reason: string | null;
    deadline_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
    updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  };
};

/** The hub's database seen with the agents tables. */
export function agentsDb(db: Kysely<Database>): Kysely<Database & AgentsTables> {
  return db.withTables<AgentsTables>();
}
