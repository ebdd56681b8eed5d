import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureService } from '../../agent-feature.js';

/** The working dirs a drill makes in `<state dir>/backups`: staged providers and themes, a realm export being packed. */
const PREFIXES = ['.drill-files-', '.realm-export-'];

/**
 * At the agent's start, before any task: the working dirs of a drill that the agent's death
 * interrupted go. A realm export being packed is plaintext (password hashes, client secrets),
 * so none may outlive its drill.
 */
export const drillWorkingDirsSweep: FeatureService = {
  name: 'drill-working-dirs-sweep',
  async start(ctx) {
    const root = join(ctx.stateDir, 'backups');
    const names = await readdir(root).catch(() => [] as string[]);
    for (const name of names.filter((n) => PREFIXES.some((p) => n.startsWith(p)))) {
      await rm(join(root, name), { recursive: true, force: true });
      ctx.log.warn({ dir: join(root, name) }, 'removed the working dir of a drill interrupted by the agent’s stop');
    }
    return { stop: async () => undefined };
  },
};
