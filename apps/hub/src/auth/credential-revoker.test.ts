import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '@keyfleet/log';
import { subjects } from '@keyfleet/proto/v1';
import { startNats, type NatsServer } from '@keyfleet/test-harness';
import { createUser } from '@nats-io/nkeys';
import { connect, jwtAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../store/database.js';
import { startTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { CredentialRevoker } from './credential-revoker.js';

interface Agent {
  hostId: string;
  publicKey: string;
  connect(opts?: { reconnect?: boolean }): Promise<NatsConnection>;
}

describe('CredentialRevoker', () => {
  let nats: NatsServer;
  let handle: TestDatabase;
  let db: Kysely<Database>;
  let revoker: CredentialRevoker;
  const conns: NatsConnection[] = [];

  beforeAll(async () => {
    [nats, handle] = await Promise.all([startNats(), startTestDatabase('pglite')]);
    db = handle.db;
    revoker = await CredentialRevoker.start({ db, authority: nats.authority, servers: [nats.url], log: createLogger('test', { level: 'silent' }) });
  });
  afterAll(async () => {
    for (const nc of conns) await nc.close();
    await revoker?.close();
    await handle?.close();
    await nats?.stop();
  });

  const agent = async (hostId: string): Promise<Agent> => {
    const user = createUser();
    const jwt = await nats.authority.agentJwt(hostId, user.getPublicKey());
    return {
      hostId,
      publicKey: user.getPublicKey(),
      async connect({ reconnect = false } = {}) {
        const nc = await connect({
          servers: nats.url,
          authenticator: jwtAuthenticator(jwt, user.getSeed()),
          inboxPrefix: subjects.inboxPrefix(hostId),
          reconnect,
        });
        conns.push(nc);
        return nc;
      },
    };
  };
  const revoke = (a: Agent, reason: 'decommissioned' | 'revoked') =>
    CredentialRevoker.record(db, { id: a.hostId, hostname: `${a.hostId}.example`, nkeyPublic: a.publicKey }, reason, 'test');

  it('disconnects a revoked agent at once and refuses it afterwards; others stay', async () => {
    const gone = await agent('h_gone');
    const kept = await agent('h_kept');
    const live = await gone.connect({ reconnect: true });
    const serverSaid = (async () => {
      for await (const s of live.status()) if (s.type === 'error') return s.error.message;
    })();
    const other = await kept.connect();

    const revokedAt = await revoke(gone, 'revoked');
    expect(await revoker.publish()).toBe(true);
    expect(await serverSaid).toMatch(/User Authentication Revoked/);
    await expect(gone.connect()).rejects.toThrow(/Authorization Violation/);
    await other.flush();

    // Recording again keeps the first time; decommissioning later says so.
    expect(await revoke(gone, 'decommissioned')).toEqual(revokedAt);
    expect(await CredentialRevoker.find(db, 'h_gone')).toEqual({ reason: 'decommissioned', revokedAt });
    expect(await CredentialRevoker.find(db, 'h_kept')).toBeUndefined();
  });

  it('two hubs revoking at the same time both end up enforced', async () => {
    const other = await CredentialRevoker.start({ db, authority: nats.authority, servers: [nats.url], log: createLogger('test', { level: 'silent' }) });
    try {
      const a = await agent('h_race_a');
      const b = await agent('h_race_b');
      await Promise.all([revoke(a, 'revoked'), revoke(b, 'revoked')]);
      // Each hub pushes what it read; whichever push lands last re-reads and pushes again if it missed one.
      expect(await Promise.all([revoker.publish(), other.publish()])).toEqual([true, true]);
      await expect(a.connect()).rejects.toThrow(/Authorization Violation/);
      await expect(b.connect()).rejects.toThrow(/Authorization Violation/);
    } finally {
      await other.close();
    }
  });

  it('pushes the revocations again when NATS comes back without them', async () => {
    const gone = await agent('h_gone_2');
    await revoke(gone, 'decommissioned');
    expect(await revoker.publish()).toBe(true);
    await expect(gone.connect()).rejects.toThrow(/Authorization Violation/);

    // A NATS server that lost its resolver dir starts from the preloaded account, which
    // revokes nobody, until the hub's revocation connection is back and pushes the list.
    for (const f of await readdir(nats.files.resolverDir)) await rm(join(nats.files.resolverDir, f), { recursive: true, force: true });
    await nats.restart();
    const deadline = Date.now() + 20_000;
    let refusedAfterMs = -1;
    const start = Date.now();
    while (Date.now() < deadline) {
      const outcome = await gone.connect().then(
        async (nc) => {
          await nc.close();
          return 'accepted';
        },
        (err: Error) => err.message,
      );
      if (/Authorization Violation/.test(outcome)) {
        refusedAfterMs = Date.now() - start;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(refusedAfterMs).toBeGreaterThanOrEqual(0);
  });
});
