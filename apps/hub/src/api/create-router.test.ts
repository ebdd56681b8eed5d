import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { createRouter } from './create-router.js';
import { UNAUTHENTICATED_BODY_LIMIT } from './limit-body.js';

const upload = (extra: object) =>
  createRoute({
    method: 'post',
    path: '/parts',
    security: [],
    request: { body: { required: true, content: { 'application/json': { schema: z.object({ parts: z.array(z.string()) }) } } } },
    responses: { 200: { description: 'ok' } },
    ...extra,
  });

function appWith(extra: object) {
  const app = new OpenAPIHono();
  app.route(
    '/',
    createRouter().openapi(upload(extra), (c) => c.json({ n: c.req.valid('json').parts.length }, 200)),
  );
  return app;
}

const post = (app: OpenAPIHono, bytes: number) =>
  app.request('/parts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ parts: ['x'.repeat(bytes)] }) });

describe('createRouter', () => {
  it('limits an unauthenticated body to 16 KiB unless the route states its own limit, which the document shows', async () => {
    const small = appWith({});
    expect((await post(small, UNAUTHENTICATED_BODY_LIMIT)).status).toBe(413);
    expect((await post(small, 1000)).status).toBe(200);

    const large = appWith({ 'x-body-limit': 256 * 1024 });
    expect((await post(large, UNAUTHENTICATED_BODY_LIMIT * 4)).status).toBe(200);
    expect((await post(large, 256 * 1024)).status).toBe(413);
    const doc = large.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } }) as unknown as {
      paths: Record<string, Record<string, object>>;
    };
    expect(doc.paths['/parts']!.post).toMatchObject({ 'x-body-limit': 256 * 1024, responses: { 413: {} } });
  });
});
