import { describe, expect, it } from 'vitest';
import { readSse } from './read-sse.js';

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      c.close();
    },
  });
}

describe('readSse', () => {
  it('joins events split across chunks and skips comments', async () => {
    const events = [];
    for await (const e of readSse(streamOf('id: 1\nevent: ta', 'sk\ndata: {"a":1}\n\n: ping\n\n', 'data: x\r\ndata: y\r\n\r\n'))) events.push(e);
    expect(events).toEqual([
      { id: '1', event: 'task', data: '{"a":1}' },
      { id: undefined, event: 'message', data: 'x\ny' },
    ]);
  });
});
