import { z } from 'zod';
import { defineTask } from '../define-task.js';

export const agentDiagnostics = defineTask({
  name: 'agent.diagnostics',
  description: 'Reports the agent’s versions, uptime, journal size and the round trip to NATS.',
  input: z.object({}).strict(),
  output: z.object({
    agentVersion: z.string(),
    nodeVersion: z.string(),
    protoVersion: z.string(),
    pid: z.number().int(),
    startedAt: z.iso.datetime(),
    uptimeSec: z.number().nonnegative(),
    rssBytes: z.number().int().nonnegative(),
    journal: z.object({ entries: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() }),
    /** Undefined while the agent is not connected to NATS. */
    natsRttMs: z.number().nonnegative().optional(),
  }),
  defaultTimeoutMs: 30_000,
  summary: (o) =>
    `agent ${o.agentVersion} on node ${o.nodeVersion}, up ${Math.round(o.uptimeSec)}s, journal ${o.journal.entries} tasks (${Math.round(o.journal.bytes / 1024)} KiB)` +
    (o.natsRttMs === undefined ? '' : `, NATS RTT ${o.natsRttMs.toFixed(1)} ms`),
});
