import { open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

const CHUNKS_DIR = '.keyfleet-agent-chunks';
/** The loader comes first in an artifact, well within this; the chunks follow, compressed. */
const LOADER_BYTES = 8192;
/**
 * A build extracted this recently is kept even when no artifact names it: whatever extracted it
 * may still be starting, from a file renamed while the directory was read.
 */
const FRESH_MS = 10 * 60_000;

/** The build whose chunks an artifact's loader extracts (`.keyfleet-agent-chunks/<hash>`); undefined for any other file. */
async function chunkBuildOf(file: string): Promise<string | undefined> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const head = Buffer.alloc(LOADER_BYTES);
    const { bytesRead } = await handle.read(head, 0, LOADER_BYTES, 0);
    return head.toString('latin1', 0, bytesRead).match(/'\.keyfleet-agent-chunks', '([0-9a-f]{16})'/)?.[1];
  } finally {
    await handle.close();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the chunks (scripts/build-agent-artifact.mjs) of agent builds that no artifact in
 * `artifactDir` extracts any more: every upgrade leaves the previous build's behind. Kept: the
 * build of every artifact file there, which is the running agent, `keyfleet-agent.prev.mjs` (what
 * the upgrade watchdog runs from, and what its rollback puts back) and a download being checked;
 * a build extracted in the last minutes; a half-written one whose writer still runs. Resolves
 * with the names removed.
 */
export async function pruneStaleChunks(artifactDir: string, now = Date.now()): Promise<string[]> {
  const root = join(artifactDir, CHUNKS_DIR);
  // Listed before the artifacts are read: a build an artifact extracts from now on is not in this list.
  const builds = await readdir(root, { withFileTypes: true }).catch(() => []);
  if (builds.length === 0) return [];
  const used = new Set<string>();
  for (const entry of await readdir(artifactDir, { withFileTypes: true })) {
    const build = entry.isFile() ? await chunkBuildOf(join(artifactDir, entry.name)) : undefined;
    if (build) used.add(build);
  }
  const removed: string[] = [];
  for (const entry of builds) {
    // `<hash>.<pid>.tmp`: a loader writes a build aside, then renames it.
    const aside = entry.name.match(/^[0-9a-f]{16}\.(\d+)\.tmp$/);
    const stale = aside ? !alive(Number(aside[1])) : /^[0-9a-f]{16}$/.test(entry.name) && !used.has(entry.name);
    if (!entry.isDirectory() || !stale) continue;
    const dir = join(root, entry.name);
    const changed = await stat(dir).then(
      (s) => s.mtimeMs,
      () => now,
    );
    if (now - changed < FRESH_MS) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}
