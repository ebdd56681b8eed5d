import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../testing/test-context.js';

describe('health, metrics and the OpenAPI document', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers /healthz without credentials', async () => {
    const res = await t.call('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok' });
  });

  it('is ready only while the database answers and NATS is connected', async () => {
    expect((await t.call('GET', '/readyz')).status).toBe(200);
    t.natsUp.value = false;
    const down = await t.call('GET', '/readyz');
    expect(down.status).toBe(503);
    expect(down.json.problems).toEqual(['nats: not connected']);
    t.natsUp.value = true;
  });

  it('exposes fleet gauges computed from the database and the dispatch latency histogram', async () => {
    await t.addHost({ hostname: 'up', status: 'online' });
    await t.addHost({ hostname: 'down', status: 'offline' });
    const operator = await t.tokenFor('operator');
    expect((await t.call('POST', '/v1/tasks', { token: operator, body: { type: 'noop', target: { all: true } } })).status).toBe(201);
    const res = await t.call('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^keyfleet_hosts_online 1$/m);
    expect(res.text).toMatch(/^keyfleet_tasks\{state="queued"\} 2$/m);
    expect(res.text).toMatch(/^keyfleet_tasks\{state="succeeded"\} 0$/m);
    expect(res.text).toContain('# TYPE keyfleet_dispatch_latency_seconds histogram');
  });

  it('serves an OpenAPI document listing every /v1 resource', async () => {
    const res = await t.call('GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    const paths = Object.keys(res.json.paths);
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
    expect(res.json.paths['/v1/enroll'].post.security).toEqual([]);
    expect(res.json.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await t.call('GET', '/v2/nothing');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: 'no route for GET /v2/nothing' });
  });
});
