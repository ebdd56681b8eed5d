import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';
import type { SecretBox } from './secret-box.js';

export interface SecretInfo {
  name: string;
  createdAt: Date;
  updatedAt: Date;
  updatedBy: string;
}

/** What `reveal` found: values by name, and for each name it could not open, why. */
export interface RevealedSecrets {
  values: Map<string, string>;
  problems: Map<string, string>;
}

/**
 * Named secrets, sealed at rest in the `secrets` table. Values come back out only
 * through `reveal`, which the dispatcher calls to fill the message for one agent
 * and the result writer calls to mask echoes; the API never returns them.
 */
export class SecretStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly box: SecretBox,
  ) {}

  get keyId(): string {
    return this.box.keyId;
  }

  /** Creates or replaces a secret; `created` tells which. */
  async put(name: string, value: string, actor: string): Promise<SecretInfo & { created: boolean }> {
    const ciphertext = this.box.seal(name, value);
    const now = new Date();
    return this.db.transaction().execute(async (trx) => {
      const existed = await trx.selectFrom('secrets').select('name').where('name', '=', name).forUpdate().executeTakeFirst();
      const row = await trx
        .insertInto('secrets')
        .values({ name, ciphertext, key_id: this.box.keyId, created_at: now, updated_at: now, updated_by: actor })
        .onConflict((oc) => oc.column('name').doUpdateSet({ ciphertext, key_id: this.box.keyId, updated_at: now, updated_by: actor }))
        .returning(['name', 'created_at', 'updated_at', 'updated_by'])
        .executeTakeFirstOrThrow();
      return { ...info(row), created: !existed };
    });
  }

  async list(): Promise<SecretInfo[]> {
    const rows = await this.db.selectFrom('secrets').select(['name', 'created_at', 'updated_at', 'updated_by']).orderBy('name').execute();
    return rows.map(info);
  }

  /** False when there was no such secret. */
  async delete(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('secrets').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** How many stored secrets another key sealed (they cannot be opened by this hub). */
  async countForeign(): Promise<number> {
    const r = await this.db
      .selectFrom('secrets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('key_id', '!=', this.box.keyId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Opens the named secrets; `db` may be a transaction (the result writer holds one). */
  async reveal(names: Iterable<string>, db: Kysely<Database> = this.db): Promise<RevealedSecrets> {
    const wanted = [...new Set(names)];
    const values = new Map<string, string>();
    const problems = new Map<string, string>();
    if (wanted.length === 0) return { values, problems };
    const rows = await db.selectFrom('secrets').select(['name', 'ciphertext', 'key_id']).where('name', 'in', wanted).execute();
    const byName = new Map(rows.map((r) => [r.name, r]));
    for (const name of wanted) {
      const row = byName.get(name);
      if (!row) {
        problems.set(name, `secret "${name}" does not exist (deleted after the task was created?); store it with PUT /v1/secrets/${name}`);
      } else if (row.key_id !== this.box.keyId) {
        problems.set(
          name,
          `secret "${name}" was sealed under hub secret key ${row.key_id}, but this hub has key ${this.box.keyId}: every hub sharing a database needs the same KEYFLEET_SECRET_KEY`,
        );
      } else {
        try {
          values.set(name, this.box.open(name, row.ciphertext));
        } catch (err) {
          problems.set(name, (err as Error).message);
        }
      }
    }
    return { values, problems };
  }
}

function info(r: { name: string; created_at: Date; updated_at: Date; updated_by: string }): SecretInfo {
  return { name: r.name, createdAt: r.created_at, updatedAt: r.updated_at, updatedBy: r.updated_by };
}
