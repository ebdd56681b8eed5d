// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import { expect, vi } from 'vitest';

export interface SseEvent {
  event?: string;
  id?: string;
  data: string;
}

/** A live text/event-stream response read as it arrives, so a test can act between events. */
export class LiveEventStream {
  readonly events: SseEvent[] = [];
  /** Resolves once the server has ended the stream. */
  readonly ended: Promise<void>;

  constructor(res: { status: number; body: ReadableStream<Uint8Array> | null }) {
    expect(res.status).toBe(200);
    this.ended = this.read(res.body!);
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of body) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut = buffer.indexOf('\n\n');
      while (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        cut = buffer.indexOf('\n\n');
        if (block.startsWith(':')) continue;
        const e: SseEvent = { data: '' };
        for (const line of block.split('\n')) {
          const at = line.indexOf(': ');
          const [key, value] = at < 0 ? [line, ''] : [line.slice(0, at), line.slice(at + 2)];
          if (key === 'event') e.event = value;
          else if (key === 'id') e.id = value;
          else if (key === 'data') e.data += value;
        }
        this.events.push(e);
      }
    }
  }

  /** Ids of the task events received (not `end`). */
  ids(): number[] {
    return this.events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
  }

  /** The `message` of every progress event received. */
  messages(): string[] {
    return this.events.filter((e) => e.event === 'progress').map((e) => (JSON.parse(e.data) as { data: { message: string } }).data.message);
  }

  /** Waits until `check` holds for what has arrived (the positive signal a test acts on). */
  async waitFor(what: string, check: () => boolean): Promise<void> {
    await vi.waitFor(
      () => {
        if (!check()) throw new Error(`stream has not shown ${what}; got ${JSON.stringify(this.events.map((e) => e.event))}`);
      },
      { timeout: 20_000, interval: 20 },
    );
  }
}
