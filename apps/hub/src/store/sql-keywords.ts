import { sql, type RawBuilder } from 'kysely';

/**
 * The schema types JSON columns as strings on insert, so a JSON column that should
 * stay SQL NULL (not the JSON value `null`) needs the keyword; `DEFAULT` likewise
 * keeps a column's default in the migration rather than repeated in code.
 */
export const SQL_NULL: RawBuilder<never> = sql<never>`null`;
export const SQL_DEFAULT: RawBuilder<never> = sql<never>`default`;
