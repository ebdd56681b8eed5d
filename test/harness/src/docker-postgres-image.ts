import { runImageScript } from './docker-image-script.js';

/**
 * The locally built PostgreSQL 15 image (keyfleet/postgres:15, Debian's postgresql-15). Configure it
 * with POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB / PGPORT, and POSTGRES_LISTEN=127.0.0.1 under
 * host networking; data in /var/lib/postgresql/data. Built once, then cached by the engine.
 */
export async function ensurePostgresImage(dockerHost: string): Promise<string> {
  const [tag] = await runImageScript(dockerHost, ['postgres']);
  return tag!;
}
