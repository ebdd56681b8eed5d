import { decode, encode, messages, subjects } from '@keyfleet/proto/v1';
import type { ServiceContext } from '../../agent-feature.js';
import { LogOffsets } from './log-offsets.js';
import { LogShipper, type ShippedFile } from './log-shipper.js';

/** A shipper of `files` that sends its batches to the hub as requests and counts them sent only on the hub's ack. */
export async function startLogShipper(ctx: ServiceContext, files: readonly ShippedFile[]): Promise<LogShipper> {
  return new LogShipper({
    files,
    offsets: await LogOffsets.open(ctx.stateDir),
    send: async (lines, dropped) => {
      const reply = await ctx.requestHub(
        subjects.hub.logLines(ctx.hostId),
        encode(messages.logLines, { kind: 'log-lines', hostId: ctx.hostId, lines, dropped }),
      );
      try {
        decode(messages.logsAck, reply);
      } catch (err) {
        // The hub answers what it cannot store with a rejection; anything else is reported as it is.
        const reason = (() => {
          try {
            return decode(messages.rejection, reply).reason;
          } catch {
            return (err as Error).message;
          }
        })();
        throw new Error(`the hub did not store the log lines: ${reason}`);
      }
    },
  });
}
