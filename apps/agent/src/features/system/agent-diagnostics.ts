import { PROTO_VERSION } from '@keyfleet/proto/v1';
import type { TaskHandler } from '../../task-handler.js';

/** What an operator asks first of a misbehaving agent: which build, how long up, how big its journal, how far NATS is. */
export const agentDiagnostics: TaskHandler<'agent.diagnostics'> = async (_input, ctx) => {
  const [journal, natsRttMs] = await Promise.all([ctx.agent.journalStats(), ctx.agent.natsRttMs()]);
  return {
    agentVersion: ctx.agent.version,
    nodeVersion: process.version,
    protoVersion: PROTO_VERSION,
    pid: process.pid,
    startedAt: ctx.agent.startedAt,
    uptimeSec: (Date.now() - Date.parse(ctx.agent.startedAt)) / 1000,
    rssBytes: process.memoryUsage.rss(),
    journal,
    ...(natsRttMs === undefined ? {} : { natsRttMs }),
  };
};
