export interface DbFacts {
  serverVersion: string;
  migration: string | null;
  tables: Record<string, number>;
}

/** Server version, newest migration and rows per table of the `public` schema, in the caller's snapshot. */
export async function readDbFacts(query: (text: string) => Promise<Array<Record<string, unknown>>>): Promise<DbFacts> {
  const serverVersion = String((await query('SHOW server_version'))[0]!.server_version);
  const names = (await query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)).map((r) => String(r.tablename));
  const tables: Record<string, number> = {};
  for (const name of names) tables[name] = Number((await query(`SELECT count(*) AS n FROM public."${name.replaceAll('"', '""')}"`))[0]!.n);
  const migration = names.includes('kysely_migration')
    ? ((await query('SELECT name FROM kysely_migration ORDER BY name DESC LIMIT 1'))[0]?.name as string | undefined)
    : undefined;
  return { serverVersion, migration: migration ?? null, tables };
}
