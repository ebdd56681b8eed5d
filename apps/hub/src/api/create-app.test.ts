import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT, UNAUTHENTICATED_BODY_LIMIT } from './limit-body.js';
import { createTestContext, type TestContext } from './test-context.js';

const CHUNK = 64 * 1024;
/** Read-ahead of the streams between the body and the limit: a few chunks, never the body. */
const SLACK = 4 * CHUNK;

/** A request body produced on demand, counting what the server actually pulled. */
function countedBody(total: number) {
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= total) return controller.close();
      const chunk = new Uint8Array(Math.min(CHUNK, total - state.pulled)).fill(0x20);
      state.pulled += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return { stream, state };
}

type Operation = { responses: Record<string, { content?: Record<string, unknown> }>; security?: unknown[]; parameters?: unknown[]; requestBody?: unknown };

describe('request body limits', () => {
  let t: TestContext;

  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t?.close();
  });

  const send = (path: string, init: RequestInit & { duplex?: 'half' }) => t.app.request(new Request(`http://hub${path}`, init));

  it('refuses an oversized body with 413 before buffering it: declared, streamed, or longer than its Content-Length', async () => {
    const declared = await send('/v1/enroll', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'x'.repeat(UNAUTHENTICATED_BODY_LIMIT) }),
    });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({ error: `request body is larger than ${UNAUTHENTICATED_BODY_LIMIT} bytes, the limit of this route` });

    // Chunked (no length), then a Content-Length that lies low: the hub stops reading at the limit.
    for (const headers of [{}, { 'content-length': '20' }]) {
      const { stream, state } = countedBody(8 * 1024 * 1024);
      const res = await send('/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: stream, duplex: 'half' });
      expect(res.status, JSON.stringify(headers)).toBe(413);
      expect(state.pulled, JSON.stringify(headers)).toBeLessThanOrEqual(UNAUTHENTICATED_BODY_LIMIT + SLACK);
    }

    // Authenticated routes take more, but not without limit.
    const { stream, state } = countedBody(8 * 1024 * 1024);
    const big = await send('/v1/tasks', {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    });
    expect(big.status).toBe(413);
    expect(state.pulled).toBeLessThanOrEqual(BODY_LIMIT + SLACK);

    // Without credentials the body of an authenticated route is never read at all.
    const stranger = countedBody(8 * 1024 * 1024);
    const refused = await send('/v1/tasks', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stranger.stream, duplex: 'half' });
    expect(refused.status).toBe(401);
    expect(stranger.state.pulled).toBeLessThanOrEqual(SLACK);
  });

  it('documents 413 on every route that takes a body', async () => {
    const doc = (await t.call('GET', '/v1/openapi.json')).json as { paths: Record<string, Record<string, Operation>> };
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        if (operation.requestBody) expect(Object.keys(operation.responses), `${method} ${path}`).toContain('413');
      }
    }
    expect(Object.keys(doc.paths['/v1/tasks/{id}/events']!.get!.responses)).toContain('503');
  });
});
