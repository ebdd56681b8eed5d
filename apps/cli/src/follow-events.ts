import { taskEvent } from '@keyfleet/proto/v1';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { BatchProgress } from './batch-progress.js';
import type { CliContext } from './cli-context.js';
import { HubError } from './hub-client.js';

/**
 * Streams the hub's events for a task (t_…) or batch (b_…) until every task in it
 * is terminal, drawing one live line per host (not in json mode). Reconnects with
 * Last-Event-ID when the stream drops (hub restart, proxy). Each event is parsed
 * with the proto declaration; one that does not match is reported, not guessed at.
 */
export async function followEvents(ctx: CliContext, id: string, hostIds: string[], progress?: BatchProgress): Promise<void> {
  // A caller's own block (several tasks drawn as one) outlives this stream: the caller stops it.
  const live = progress ?? (ctx.output.format === 'json' ? undefined : new BatchProgress(process.stdout, hostIds));
  const url = `${ctx.hubUrl}/v1/${id.startsWith('b_') ? 'batches' : 'tasks'}/${id}/events`;
  let lastEventId: string | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(url, {
        headers: {
          accept: 'text/event-stream',
          ...(ctx.token ? { authorization: `Bearer ${ctx.token}` } : {}),
          ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
        },
      }).catch((err: Error) => {
        if (attempt >= 30) throw new HubError(`lost the hub at ${ctx.hubUrl}: ${err.message}`, 0);
        return undefined;
      });
      if (res && !res.ok) {
        const body = (await res.json().catch(() => ({}))) as { error?: string };
        throw new HubError(body.error ?? `hub answered ${res.status} for ${url}`, res.status);
      }
      let ended = false;
      if (res?.body) {
        try {
          const events = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
          for await (const ev of events as unknown as AsyncIterable<{ id?: string; event?: string; data: string }>) {
            if (ev.id) lastEventId = ev.id;
            if (ev.event === 'end') {
              ended = true;
              break;
            }
            if (ev.event === 'error') continue;
            const parsed = taskEvent.safeParse(JSON.parse(ev.data));
            if (!parsed.success) {
              process.stderr.write(
                `warning: the hub sent an event this CLI does not understand (${parsed.error.issues[0]?.message}); is the CLI older than the hub?\n`,
              );
              continue;
            }
            const e = parsed.data;
            if (e.kind === 'state') live?.update(e.hostId, { state: e.data.state, message: e.data.error?.message });
            else
              live?.update(e.hostId, {
                percent: e.data.percent,
                message: e.data.message,
                transfer: e.data.bytes === undefined ? null : { bytes: e.data.bytes, totalBytes: e.data.totalBytes },
                at: Date.parse(e.at),
              });
          }
        } catch {
          // connection dropped mid-stream: reconnect below
        }
      }
      if (ended) return;
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))));
    }
  } finally {
    if (!progress) live?.stop();
  }
}
