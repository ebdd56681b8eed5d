import { appendFile, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@keyfleet/log';
import { writeFileAtomic } from '../../write-file-atomic.js';
import { keycloakStateDir, loadInstance, openRuntime } from '../keycloak/index.js';

/** Where a docker Keycloak's log is mirrored for the file shipper. */
export const DOCKER_LOG_FILE = 'keycloak-docker.log';
/** The mirror starts over in a new file past this size; the shipper follows the new inode. */
const MAX_BYTES = 16 * 1024 * 1024;
/** A first pull reaches this far back, not through a long-running container's whole history. */
const FIRST_PULL_SEC = 600;

/** `2026-12-01T18:00:00.5Z` → a key that sorts by time: docker trims the nanoseconds' trailing zeros. */
const timeKey = (stamp: string): string | undefined => {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(stamp);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}` : undefined;
};

/**
 * A docker Keycloak logs to the engine, not to a file the shipper can tail: each pass copies the
 * container's lines written since the last one copied into a file in the Keycloak state dir. The
 * place reached is docker's timestamp of the last line copied (kept in a file), so an agent
 * restart, an update that recreates the container, or a second pull in the same second copies no
 * line twice. Lines are written without docker's timestamp, as Keycloak printed them.
 */
export class DockerLogMirror {
  private runtime: Awaited<ReturnType<typeof openRuntime>> | undefined;

  constructor(
    private readonly stateDir: string,
    private readonly log: Logger,
  ) {}

  async pullOnce(): Promise<void> {
    const record = await loadInstance(this.stateDir);
    if (record?.runtime !== 'docker') return;
    this.runtime ??= await openRuntime('docker', this.stateDir, this.log);
    if (!this.runtime.logsSince) return;
    const dir = keycloakStateDir(this.stateDir);
    const cursorFile = join(dir, 'docker-log-cursor.json');
    const cursor = await readFile(cursorFile, 'utf8').then(
      (text) => (JSON.parse(text) as { at: string }).at,
      () => undefined,
    );
    const sinceSec = cursor ? Math.floor(Date.parse(`${cursor.slice(0, 19)}Z`) / 1000) : Math.floor(Date.now() / 1000) - FIRST_PULL_SEC;
    const text = await this.runtime.logsSince(record, sinceSec);
    const { lines, last } = DockerLogMirror.newLines(text, cursor);
    if (!last) return;
    const file = join(dir, DOCKER_LOG_FILE);
    const size = await stat(file).then(
      (s) => s.size,
      () => 0,
    );
    if (size > MAX_BYTES) await rename(file, `${file}.1`);
    await appendFile(file, lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
    await writeFileAtomic(cursorFile, JSON.stringify({ at: last }));
  }

  /** The lines after `cursor` (a time key) in docker's timestamped output, and the new cursor. */
  static newLines(text: string, cursor: string | undefined): { lines: string[]; last: string | undefined } {
    const lines: string[] = [];
    let last: string | undefined;
    for (const raw of text.split('\n')) {
      const space = raw.indexOf(' ');
      const key = space > 0 ? timeKey(raw.slice(0, space)) : undefined;
      if (!key || (cursor && key <= cursor) || (last && key < last)) continue;
      lines.push(raw.slice(space + 1).replace(/\r$/, ''));
      last = key;
    }
    return { lines, last };
  }
}
