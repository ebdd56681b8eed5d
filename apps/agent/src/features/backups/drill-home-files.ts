import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BackupManifest } from '@keyfleet/proto/v1';

/** Where a backup keeps the Keycloak home's providers and themes; the scratch Keycloak gets these. */
const PREFIXES = ['keycloak/providers/', 'keycloak/themes/'];

/**
 * The backup's custom providers and themes, staged in a 0700 directory of the state dir while the
 * drill streams the backup, so the scratch Keycloak boots with them as production does. Nothing
 * secret is staged: keystores and keycloak.conf stay in the stream only.
 */
export class DrillHomeFiles {
  private constructor(readonly dir: string) {}

  static async create(stateDir: string): Promise<DrillHomeFiles> {
    const root = join(stateDir, 'backups');
    await mkdir(root, { recursive: true, mode: 0o700 });
    return new DrillHomeFiles(await mkdtemp(join(root, '.drill-files-')));
  }

  /** Whether a tar entry (`keycloak/themes/…`) or manifest path is one of them. */
  static holds(name: string): boolean {
    return PREFIXES.some((p) => name.startsWith(p));
  }

  /**
   * What the scratch home is built from, as one string: a drill home made for other providers
   * or themes is made again. Empty when the backup has none.
   */
  static key(manifest: BackupManifest): string {
    return manifest.files
      .filter((f) => DrillHomeFiles.holds(f.path))
      .map((f) => `${f.path} ${f.sha256}`)
      .join('\n');
  }

  /** Writes one entry at its place under the staging dir (`providers/…`, `themes/…`); a name leaving it is refused. */
  async write(name: string, chunks: AsyncIterable<unknown>, mode: number): Promise<void> {
    const dest = resolve(this.dir, name.slice('keycloak/'.length));
    if (!dest.startsWith(resolve(this.dir) + sep)) throw new Error(`tar entry ${name} leaves the Keycloak home`);
    await mkdir(dirname(dest), { recursive: true, mode: 0o700 });
    await pipeline(chunks, createWriteStream(dest, { mode: mode & 0o755 }));
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}
