import { z } from 'zod';
import { defineTask } from '../define-task.js';

const version = z
  .string()
  .regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'must be a version such as 1.2.0')
  .max(64);

export const agentUpgrade = defineTask({
  name: 'agent.upgrade',
  description:
    'Downloads an agent artifact from the hub, checks its sha256, swaps it in and restarts the agent through its supervisor; a watchdog puts the old one back if the new one does not report to the hub within the deadline.',
  input: z
    .object({
      version,
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex sha256'),
      /** The download is refused past this many bytes. */
      size: z
        .number()
        .int()
        .positive()
        .max(512 * 1024 * 1024),
      /** How long the new agent has to report to the hub before the old one is put back. */
      deadlineSec: z.number().int().min(10).max(3600).default(120),
    })
    .strict(),
  output: z.object({
    from: z.string(),
    to: z.string(),
    /** restarting: swapped, the agent restarts now and the watchdog decides; current: it already runs `to`. */
    state: z.enum(['restarting', 'current']),
    /** Names this attempt in the watchdog's report to the hub. */
    attemptId: z.string().max(64).optional(),
    supervisor: z.enum(['systemd', 'process']).optional(),
    deadlineAt: z.iso.datetime().optional(),
  }),
  defaultTimeoutMs: 15 * 60_000,
  summary: (o) => (o.state === 'current' ? `already ${o.to}` : `${o.from} → ${o.to}, restarting (rolled back unless it reports by ${o.deadlineAt})`),
});
