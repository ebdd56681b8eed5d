import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type KeycloakInstanceRecord, keycloakStateDir } from '../keycloak/index.js';

export interface KeycloakFile {
  /** Where the file is on this host. */
  source: string;
  /** Its name in the backup (`keycloak/conf/keycloak.conf`). */
  path: string;
  size: number;
  mode: number;
}

/**
 * Directories of a Keycloak home that belong in a backup: configuration (keycloak.conf, cache
 * config, truststores, keystores, TLS certificate and key kept there), custom providers and
 * themes. `data/` is left out: with Postgres it holds only caches and temporary files.
 */
const HOME_DIRS = ['conf', 'providers', 'themes'];

/**
 * The installed Keycloak's files, sorted; regular files only (symlinks would leave the home).
 * With them the certificate and key the agent's front serves (`<state dir>/keycloak/tls`, as
 * `tls/…`): they are kept outside the home on both runtimes, and a docker Keycloak has no home
 * on the host at all.
 */
export async function keycloakFiles(record: KeycloakInstanceRecord, stateDir: string): Promise<KeycloakFile[]> {
  const files: KeycloakFile[] = [];
  const walk = async (dir: string, root: string, prefix: string) => {
    const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const source = join(dir, entry.name);
      if (entry.isDirectory()) await walk(source, root, prefix);
      else if (entry.isFile()) {
        const st = await lstat(source);
        files.push({ source, path: `${prefix}/${relative(root, source)}`, size: st.size, mode: st.mode & 0o777 });
      }
    }
  };
  const home = record.process?.installDir;
  if (home) for (const dir of HOME_DIRS) await walk(join(home, dir), home, 'keycloak');
  const tls = join(keycloakStateDir(stateDir), 'tls');
  await walk(tls, tls, 'tls');
  return files;
}
