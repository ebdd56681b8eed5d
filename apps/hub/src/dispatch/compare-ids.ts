/**
 * Code-unit order of ids, the order multi-row task writes lock rows in so that concurrent
 * batches never deadlock (ids are ASCII, so it matches Postgres' `ORDER BY id`).
 */
export const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
