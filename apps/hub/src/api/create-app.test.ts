import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT, UNAUTHENTICATED_BODY_LIMIT } from './limit-body.js';
import { expectStatus } from '../testing/expect-status.js';
import { createTestContext, type TestContext } from '../testing/test-context.js';
import { testBackends } from '../testing/test-database.js';

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

describe.each(testBackends)('the API contract (%s)', (backend) => {
  let t: TestContext;

  beforeAll(async () => {
    t = await createTestContext(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  const send = (path: string, init: RequestInit & { duplex?: 'half' }) => t.app.request(new Request(`http://hub${path}`, init));

  it('refuses NUL characters in query, path and body with 400 before they reach Postgres', async () => {
    for (const path of ['/v1/audit?action=a%00b', '/v1/tasks?type=%00', '/v1/tasks/t_%00', '/v1/batches/%00']) {
      const res = await t.raw('GET', path, { token: t.adminToken });
      expect(res.status, path).toBe(400);
      expect(res.json, path).toMatchObject({ error: expect.stringMatching(/NUL/) });
    }
    const admin = t.api(t.adminToken);
    // The selector's documented pattern excludes NUL itself.
    expect((await admin.v1.hosts.$get({ query: { selector: 'env=\u0000' } })).status).toBe(400);
    const labels = await expectStatus(admin.v1['enrollment-tokens'].$post({ json: { labels: { env: 'a\u0000b' } } }), 400);
    expect(labels.error).toBe('invalid body: labels.env: must not contain NUL characters');
    expect((await admin.v1.secrets[':name'].$put({ param: { name: 's1' }, json: { value: '\u0000' } })).status).toBe(400);
    // Still answering, so nothing above was a swallowed server error.
    expect((await admin.v1.audit.$get({ query: { action: 'x' } })).status).toBe(200);
  });

  it('answers 405 with Allow for a method a known path does not have, 204 with Allow to OPTIONS, 404 for unknown paths', async () => {
    // TRACE itself is refused by fetch's Request; the e2e fuzzer sends it over HTTP.
    const patch = await t.raw('PATCH', '/v1/tasks', { token: t.adminToken });
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')).toBe('GET, HEAD, POST, OPTIONS');
    expect(patch.json).toEqual({ error: 'PATCH is not allowed on /v1/tasks; allowed: GET, HEAD, POST, OPTIONS' });
    const del = await t.raw('DELETE', '/v1/tasks/t_1');
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect((await t.raw('PATCH', '/v1/secrets/x')).headers.get('allow')).toBe('PUT, DELETE, OPTIONS');
    const options = await t.raw('OPTIONS', '/v1/enroll');
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('POST, OPTIONS');
    expect((await t.raw('GET', '/v1/nothing-here')).status).toBe(404);
  });

  it('refuses a missing required body with 400 and a body that is not JSON with 415', async () => {
    const none = await send('/v1/enrollment-tokens', { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}` } });
    expect(none.status).toBe(400);
    expect(((await none.json()) as { error: string }).error).toBe('a JSON request body is required (Content-Type: application/json)');
    const text = await send('/v1/enrollment-tokens', {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(text.status).toBe(415);
    expect((await t.api(t.adminToken).v1['enrollment-tokens'].$post({ json: {} })).status).toBe(201);
  });

  it('refuses an oversized body with 413 before buffering it: declared, streamed, or longer than its Content-Length', async () => {
    const declared = await send('/v1/enroll', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'x'.repeat(UNAUTHENTICATED_BODY_LIMIT) }),
    });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({ error: `request body is larger than ${UNAUTHENTICATED_BODY_LIMIT} bytes, the limit of this route` });

    // Chunked (no length), then a Content-Length that lies low: the hub stops reading at the limit.
    for (const headers of [{}, { 'content-length': '20' }] as Record<string, string>[]) {
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

  it('declares in OpenAPI every status the shared machinery answers, with the error schema', async () => {
    const doc = (await t.raw('GET', '/v1/openapi.json')).json as { paths: Record<string, Record<string, Operation>> };
    const op = (path: string, method: string) => doc.paths[`/v1${path}`]![method]!;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const label = `${method.toUpperCase()} ${path}`;
        const statuses = Object.keys(operation.responses);
        expect(statuses, label).toContain('500');
        if (operation.parameters?.length || operation.requestBody) expect(statuses, label).toContain('400');
        if (operation.parameters?.some((p) => ['path', 'query'].includes((p as { in: string }).in))) expect(statuses, label).toContain('431');
        if (operation.requestBody) expect(statuses, label).toEqual(expect.arrayContaining(['413', '415']));
        if (!(Array.isArray(operation.security) && operation.security.length === 0)) expect(statuses, label).toContain('401');
        // 431 comes from Node's HTTP parser, with no body.
        for (const status of statuses.filter((s) => s >= '400' && s !== '431')) {
          expect(operation.responses[status]!.content, `${label} ${status}`).toEqual({
            'application/json': { schema: { $ref: '#/components/schemas/Error' } },
          });
        }
      }
    }
    expect(Object.keys(op('/batches/{id}', 'get').responses)).toEqual(expect.arrayContaining(['400', '401', '403', '404']));
    expect(Object.keys(op('/tasks/{id}/events', 'get').responses)).toEqual(expect.arrayContaining(['200', '400', '404', '503']));
    expect(op('/tasks/{id}/events', 'get').responses['200']!.content).toHaveProperty(['text/event-stream']);
    expect(op('/enroll', 'post').requestBody).toMatchObject({
      required: true,
      content: { 'application/json': { schema: { properties: { publicKey: { pattern: '^U[A-Z2-7]{55}$' } } } } },
    });
  });
});
