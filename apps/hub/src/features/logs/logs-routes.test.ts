import type { LogLine } from '@keyfleet/proto/v1';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import { testBackends } from '../../testing/test-database.js';
import { pruneLogs } from './logs-retention.js';
import type { LogsRoutes } from './logs-routes.js';
import { storeLogLines } from './store-log-lines.js';

const ago = (sec: number) => new Date(Date.now() - sec * 1000).toISOString();
const line = (pos: number, text: string, level: LogLine['level'] = 'info', atSecAgo = 10): LogLine => ({
  source: 'keycloak',
  stream: 'keycloak-a.log:42',
  pos,
  at: ago(atSecAgo),
  level,
  line: text,
});

describe.each(testBackends)('host log lines (%s)', (backend) => {
  let t: TestContext;
  let web1: string;
  let web2: string;
  const logs = (id: string, query: Record<string, string>, token = t.adminToken) =>
    t.client.as(token).routes<LogsRoutes>('/v1').hosts[':id'].logs.$get({ param: { id }, query });

  beforeAll(async () => {
    t = await createTestContext(backend);
    web1 = await t.addHost({ hostname: 'web-1' });
    web2 = await t.addHost({ hostname: 'web-2' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stores each line once, notes dropped lines, and nothing of a host it does not know', async () => {
    const batch = [
      line(0, 'INFO  [io.quarkus] Keycloak started', 'info', 30),
      line(40, 'WARN  [org.keycloak] cache slow', 'warn', 20),
      line(90, 'ERROR [org.keycloak] db down', 'error', 10),
    ];
    expect(await storeLogLines(t.db, web1, batch)).toBe(3);
    // The agent sends a batch again when it missed the hub's reply.
    expect(await storeLogLines(t.db, web1, batch)).toBe(0);
    expect(await storeLogLines(t.db, web2, [line(0, 'INFO other host')], 7)).toBe(2);
    expect(await storeLogLines(t.db, 'h_gone', [line(0, 'x')])).toBe(0);
  });

  it('reads a host’s lines oldest first, by hostname or id, filtered by level, text, age and count', async () => {
    const all = await expectStatus(logs('web-1', {}), 200);
    expect(all.items.map((i) => i.line)).toEqual(['INFO  [io.quarkus] Keycloak started', 'WARN  [org.keycloak] cache slow', 'ERROR [org.keycloak] db down']);
    expect(all.items[0]).toMatchObject({ id: 'keycloak-a.log:42:0', source: 'keycloak', level: 'info' });
    expect((await expectStatus(logs(web1, { level: 'warn' }), 200)).items.map((i) => i.level)).toEqual(['warn', 'error']);
    expect((await expectStatus(logs(web1, { grep: 'DB DOWN' }), 200)).items.map((i) => i.line)).toEqual(['ERROR [org.keycloak] db down']);
    // A grep with LIKE's wildcards matches them literally.
    expect((await expectStatus(logs(web1, { grep: '%' }), 200)).items).toEqual([]);
    expect((await expectStatus(logs(web1, { since: '15s' }), 200)).items.map((i) => i.level)).toEqual(['error']);
    expect((await expectStatus(logs(web1, { since: ago(25) }), 200)).items.map((i) => i.level)).toEqual(['warn', 'error']);
    // The newest lines win the limit, still oldest first.
    expect((await expectStatus(logs(web1, { limit: '2' }), 200)).items.map((i) => i.level)).toEqual(['warn', 'error']);
    const other = await expectStatus(logs('web-2', { level: 'warn' }), 200);
    expect(other.items).toEqual([
      expect.objectContaining({ source: 'agent', level: 'warn', line: 'keyfleet: the agent dropped 7 log line(s) under pressure' }),
    ]);
  });

  it('answers bad queries with 400, an unknown host with 404 and no token with 401', async () => {
    await expectStatus(logs(web1, { level: 'loud' }), 400);
    await expectStatus(logs(web1, { since: 'yesterday' }), 400);
    await expectStatus(logs(web1, { limit: '0' }), 400);
    await expectStatus(logs('nope', {}), 404);
    await expectStatus(logs(web1, {}, 'not-a-token'), 401);
  });

  it('keeps lines by age, then each host’s newest within its size cap', async () => {
    await storeLogLines(t.db, web1, [line(200, 'INFO ancient', 'info', 9 * 86_400)]);
    expect(await pruneLogs(t.db, 7 * 86_400, 1_000_000)).toBe(1);
    // web-1 holds lines of 35, 31 and 28 bytes: an 80-byte cap keeps the newest two; web-2's 73 bytes stay.
    expect(await pruneLogs(t.db, 7 * 86_400, 80)).toBe(1);
    const left = await sql<{ line: string }>`SELECT line FROM host_logs WHERE host_id = ${web1} ORDER BY at`.execute(t.db);
    expect(left.rows.map((r) => r.line)).toEqual(['WARN  [org.keycloak] cache slow', 'ERROR [org.keycloak] db down']);
    expect((await expectStatus(logs('web-2', {}), 200)).items).toHaveLength(2);
  });
});
