import { encode, hello as helloMessage, type Hello } from '@keyfleet/proto/v1';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialRevoker } from '../auth/credential-revoker.js';
import type { Database } from '../store/database.js';
import { startTestDatabase, testBackends, type TestDatabase } from '../testing/test-database.js';
import { handleHello } from './handle-hello.js';
import { MessageRejected } from './message-rejected.js';

const hello = (hostId: string): Hello =>
  JSON.parse(
    new TextDecoder().decode(
      encode(helloMessage, {
        kind: 'hello',
        hostId,
        hostname: 'a.example',
        agentVersion: '0.1.0',
        taskTypes: ['noop'],
        labels: {},
        heartbeatIntervalMs: 15_000,
        maxConcurrency: 4,
      }),
    ),
  );

describe.each(testBackends)('handleHello (%s)', (backend) => {
  let handle: TestDatabase;
  let db: Kysely<Database>;
  beforeAll(async () => {
    handle = await startTestDatabase(backend);
    db = handle.db;
  });
  afterAll(async () => {
    await handle?.close();
  });

  const rejection = (hostId: string) =>
    handleHello(db, hostId, hello(hostId)).then(
      () => undefined,
      (err: unknown) => (err instanceof MessageRejected ? { reason: err.reason, code: err.code } : err),
    );

  it('welcomes an enrolled host and refuses an unknown one so it tries again', async () => {
    await db
      .insertInto('hosts')
      .values({
        id: 'h_ok',
        hostname: 'a.example',
        labels: '{}',
        nkey_public: 'UOK',
        status: 'pending',
        agent_version: null,
        proto_version: null,
        task_types: '[]',
        heartbeat_interval_ms: 15_000,
        max_concurrency: 4,
        last_heartbeat: 'null',
      })
      .execute();
    expect(await rejection('h_ok')).toBeUndefined();
    expect((await db.selectFrom('hosts').select('status').where('id', '=', 'h_ok').executeTakeFirstOrThrow()).status).toBe('online');
    expect(await rejection('h_unknown')).toEqual({ reason: 'unknown host h_unknown', code: undefined });
  });

  it('tells a revoked or decommissioned host so, with the code that stops its agent', async () => {
    await CredentialRevoker.record(db, { id: 'h_ok', hostname: 'a.example', nkeyPublic: 'UOK' }, 'revoked', 'test');
    expect(await rejection('h_ok')).toEqual({ reason: expect.stringMatching(/^host h_ok had its credential revoked at .*; enroll again/), code: 'revoked' });

    await CredentialRevoker.record(db, { id: 'h_gone', hostname: 'b.example', nkeyPublic: 'UGONE' }, 'decommissioned', 'test');
    expect(await rejection('h_gone')).toEqual({ reason: expect.stringMatching(/^host h_gone was decommissioned at /), code: 'revoked' });
  });
});
