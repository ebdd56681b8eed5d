import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FeatureService } from '../../../agent-feature.js';
import { pruneStaleChunks } from './stale-chunks.js';

/**
 * At the agent's start, before any task (an upgrade among them) can run: the extracted chunks of
 * agent builds no artifact beside this one uses any more go. An agent run from source has none.
 */
export const staleChunksService: FeatureService = {
  name: 'agent-stale-chunks',
  async start(ctx) {
    // In the artifact, import.meta.url is the artifact's (the build defines it so).
    const artifact = fileURLToPath(import.meta.url);
    if (artifact.endsWith('.mjs')) {
      const dir = dirname(artifact);
      await pruneStaleChunks(dir).then(
        (removed) => {
          if (removed.length > 0) ctx.log.info({ dir, removed }, `removed the extracted chunks of ${removed.length} agent build(s) no artifact uses any more`);
        },
        (err: Error) => ctx.log.warn({ dir, reason: err.message }, 'cannot remove stale agent chunks'),
      );
    }
    return { stop: async () => undefined };
  },
};
