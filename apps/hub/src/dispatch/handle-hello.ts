import { sql, type Kysely } from 'kysely';
import type { Hello } from '@keyfleet/proto/v1';
import { CredentialRevoker } from '../auth/credential-revoker.js';
import type { Database } from '../store/database.js';
import { MessageRejected } from './message-rejected.js';

/**
 * Records what the agent says about itself and marks the host online. Labels
 * stay as the hub set them at enrollment: an agent must not relabel itself
 * into another target group. A host whose credential was revoked is told so
 * (code `revoked`), so its agent stops instead of saying hello forever; NATS
 * refuses it too once the revocation was pushed, this covers the moments before.
 */
export async function handleHello(db: Kysely<Database>, hostId: string, hello: Hello): Promise<void> {
  const revoked = await CredentialRevoker.find(db, hostId);
  if (revoked) {
    const what = revoked.reason === 'decommissioned' ? 'was decommissioned' : 'had its credential revoked';
    throw new MessageRejected(`host ${hostId} ${what} at ${revoked.revokedAt.toISOString()}; enroll again to rejoin`, 'revoked');
  }
  const updated = await db
    .updateTable('hosts')
    .set({
      status: 'online',
      agent_version: hello.agentVersion,
      proto_version: hello.proto,
      task_types: JSON.stringify(hello.taskTypes),
      heartbeat_interval_ms: hello.heartbeatIntervalMs,
      max_concurrency: hello.maxConcurrency,
      last_hello_at: sql<Date>`now()`,
      last_heartbeat_at: sql<Date>`now()`,
    })
    .where('id', '=', hostId)
    .returning('id')
    .executeTakeFirst();
  if (!updated) throw new MessageRejected(`unknown host ${hostId}`);
}
