import type { Kysely } from 'kysely';
import type { Msg } from '@nats-io/transport-node';
import type { Logger } from '@keyfleet/log';
import { AGENT_LIMITS } from '@keyfleet/nats-auth';
import { DecodeError, decode, encode, messages, parseHubSubject } from '@keyfleet/proto/v1';
import type { Database, HostStatus } from '../store/database.js';
import type { BatchWriter } from './batch-writer.js';
import { HostDataRate } from './host-data-rate.js';
import { handleHello } from './handle-hello.js';
import type { ProgressItem, ProgressVerdict } from './write-progress.js';
import { MessageRejected } from './message-rejected.js';
import type { HeartbeatItem } from './write-heartbeats.js';
import type { ResultItem, ResultVerdict } from './write-results.js';

/**
 * Handles one message an agent sent to `kf.v1.hub.<hostId>.<kind>`. A refused
 * message is logged with its reason and, when the sender waits for a reply,
 * answered with a `rejection`. An internal failure (database down) is logged and
 * left unanswered, so the agent's request times out and it tries again.
 * Never throws.
 */
export function createMessageHandler(deps: {
  db: Kysely<Database>;
  log: Logger;
  hubVersion: string;
  results: BatchWriter<ResultItem, ResultVerdict>;
  progress: BatchWriter<ProgressItem, ProgressVerdict>;
  /** Heartbeats, written in batches; each resolves with the host's status before it (undefined: unknown host). */
  heartbeats: BatchWriter<HeartbeatItem, HostStatus | undefined>;
  /** The host just came online (hello, or a heartbeat after being away) and may have work waiting. */
  onOnline(hostId: string, via: 'hello' | 'heartbeat'): void;
  /** Finished tasks free agent slots for queued ones. */
  onResultsStored(): void;
  /** Bytes per second (and at once) the hub takes from each agent; default AGENT_LIMITS. */
  agentDataRate?: { data: number; dataBurstBytes: number };
}): (msg: Msg) => Promise<void> {
  const { db, log } = deps;

  const refuse = (msg: Msg, reason: string, code?: MessageRejected['code']): void => {
    log.warn({ subject: msg.subject, reason }, 'agent message rejected');
    if (!msg.reply) return;
    try {
      msg.respond(encode(messages.rejection, { kind: 'rejection', reason: reason.slice(0, 2000), ...(code ? { code } : {}) }));
    } catch (err) {
      log.warn({ err, subject: msg.subject }, 'could not send the rejection');
    }
  };

  const sameHost = (subjectHost: string, bodyHost: string): void => {
    if (subjectHost !== bodyHost) throw new MessageRejected(`hostId ${bodyHost} in the body differs from the sender ${subjectHost}`);
  };

  const rate = new HostDataRate(deps.agentDataRate ?? AGENT_LIMITS, log);

  return async (msg) => {
    const target = parseHubSubject(msg.subject);
    // Before anything is decoded: what an agent sends over its data rate costs the hub nothing more.
    if (target && !rate.admit(target.hostId, msg.data.length)) return;
    try {
      if (!target) throw new MessageRejected(`unknown subject ${msg.subject}`);
      const { hostId, kind } = target;
      switch (kind) {
        case 'hello': {
          const hello = decode(messages.hello, msg.data);
          sameHost(hostId, hello.hostId);
          await handleHello(db, hostId, hello);
          msg.respond(encode(messages.welcome, { kind: 'welcome', hubVersion: deps.hubVersion }));
          log.info({ hostId, agentVersion: hello.agentVersion }, 'agent said hello');
          deps.onOnline(hostId, 'hello');
          return;
        }
        case 'heartbeat': {
          const hb = decode(messages.heartbeat, msg.data);
          sameHost(hostId, hb.hostId);
          const previous = await deps.heartbeats.add({ hostId, heartbeat: hb });
          if (!previous) throw new MessageRejected(`unknown host ${hostId}`);
          if (previous !== 'online') {
            log.info({ hostId, previous }, 'host back online');
            deps.onOnline(hostId, 'heartbeat');
          }
          return;
        }
        case 'progress': {
          const progress = decode(messages.progress, msg.data);
          sameHost(hostId, progress.hostId);
          const refused = await deps.progress.add({ hostId, progress });
          if (refused !== undefined) throw new MessageRejected(refused);
          return;
        }
        case 'result': {
          const result = decode(messages.result, msg.data);
          sameHost(hostId, result.hostId);
          const verdict = await deps.results.add({ hostId, result });
          if (!verdict.ok) throw new MessageRejected(verdict.reason);
          msg.respond(encode(messages.ack, { kind: 'ack', taskId: result.taskId }));
          if (verdict.stored) deps.onResultsStored();
          return;
        }
      }
    } catch (err) {
      if (err instanceof DecodeError) refuse(msg, `malformed ${target?.kind ?? 'message'}: ${err.reason}`);
      else if (err instanceof MessageRejected) refuse(msg, err.reason, err.code);
      else log.error({ err, subject: msg.subject }, 'handling an agent message failed; the agent will retry');
    }
  };
}
