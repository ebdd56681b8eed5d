import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { testBackends } from '../../testing/test-database.js';

describe.each(testBackends)('health, metrics and the OpenAPI document (%s)', (backend) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers /healthz without credentials', async () => {
    expect(await expectStatus(t.api().healthz.$get(), 200)).toEqual({ status: 'ok' });
  });

  it('is ready only while the database answers and NATS is connected', async () => {
    expect((await t.api().readyz.$get()).status).toBe(200);
    t.natsUp.value = false;
    const down = await expectStatus(t.api().readyz.$get(), 503);
    expect(down.problems).toEqual(['nats: not connected']);
    t.natsUp.value = true;
  });

  it('exposes fleet gauges computed from the database and the dispatch latency histogram', async () => {
    await t.addHost({ hostname: 'up', status: 'online' });
    await t.addHost({ hostname: 'down', status: 'offline' });
    const operator = await t.tokenFor('operator');
    await expectStatus(t.api(operator).v1.tasks.$post({ json: { type: 'noop', target: { all: true } } }), 201);
    const res = await t.api().metrics.$get();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^keyfleet_hosts_online 1$/m);
    expect(text).toMatch(/^keyfleet_tasks\{state="queued"\} 2$/m);
    expect(text).toMatch(/^keyfleet_tasks\{state="succeeded"\} 0$/m);
    expect(text).toContain('# TYPE keyfleet_dispatch_latency_seconds histogram');
  });

  it('serves an OpenAPI document listing every /v1 resource', async () => {
    const res = await t.raw('GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.json as { paths: Record<string, Record<string, { security?: unknown }>>; components: { securitySchemes: Record<string, unknown> } };
    const paths = Object.keys(doc.paths);
    for (const p of [
      '/v1/tasks',
      '/v1/tasks/{id}',
      '/v1/tasks/{id}/events',
      '/v1/batches/{id}',
      '/v1/hosts',
      '/v1/hosts/{id}',
      '/v1/enroll',
      '/v1/enrollment-tokens',
      '/v1/api-tokens',
      '/v1/audit',
      '/v1/secrets',
      '/v1/secrets/{name}',
      '/v1/hosts/{id}/realms/{realm}/history',
      '/v1/hosts/{id}/realms/{realm}/rollback',
    ]) {
      expect(paths).toContain(p);
    }
    expect(doc.paths['/v1/enroll']!.post!.security).toEqual([]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await t.raw('GET', '/v2/nothing');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: 'no route for GET /v2/nothing' });
  });
});
