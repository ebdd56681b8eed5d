import { DecodeError, decode, encode, type LogLines, messages, subjects } from '@keyfleet/proto/v1';
import type { HubService } from '../../hub-feature.js';
import { storeLogLines } from './store-log-lines.js';

/**
 * Stores the batches of log lines agents send (queue group: each batch reaches one hub) and
 * answers each with how many were new, or a rejection the agent retries after.
 */
export const logsIngest: HubService = {
  name: 'logs-ingest',
  async start(deps) {
    const log = deps.log.child({ service: 'logs-ingest' });
    let inFlight = Promise.resolve();
    const sub = deps.nats.subscribe(subjects.hub.logLinesWildcard, {
      queue: `${subjects.hubQueue}-logs`,
      callback: (err, msg) => {
        if (err) return;
        const hostId = msg.subject.split('.')[3] ?? '';
        const refuse = (reason: string) => {
          msg.respond(encode(messages.rejection, { kind: 'rejection', reason }));
        };
        let batch: LogLines;
        try {
          batch = decode(messages.logLines, msg.data);
        } catch (e) {
          return refuse(e instanceof DecodeError ? `malformed log batch: ${e.reason}` : 'malformed log batch');
        }
        // The subject is the authenticated sender (NATS permissions); the body must agree.
        if (batch.hostId !== hostId) return refuse('the batch names another host');
        const store = async () => {
          try {
            const stored = await storeLogLines(deps.db, hostId, batch.lines, batch.dropped);
            msg.respond(encode(messages.logsAck, { kind: 'logs.ack', stored }));
          } catch (e) {
            log.warn({ err: e, hostId, lines: batch.lines.length }, 'could not store log lines; the agent sends them again');
            refuse('the hub could not store the log lines now');
          }
        };
        // One batch at a time per hub: the database is the bottleneck.
        inFlight = inFlight.then(store);
      },
    });
    return {
      async stop() {
        sub.unsubscribe();
        await inFlight;
      },
    };
  },
};
