import { createRoute, z } from '@hono/zod-openapi';
import * as v1 from '@keyfleet/proto/v1';
import { fromPublic } from '@nats-io/nkeys';
import { createMiddleware } from 'hono/factory';
import { sql } from 'kysely';
import { hashSecretToken } from '../../auth/secret-token.js';
import { newId } from '../../store/new-id.js';
import { SQL_DEFAULT, SQL_NULL } from '../../store/sql-keywords.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError } from '../api-error.js';
import type { AppEnv } from '../app-env.js';
import { createRouter } from '../create-router.js';
import { errorResponses } from '../error-responses.js';
import { LabelsSchema } from '../labels-schema.js';
import { noteAudit } from '../note-audit.js';

const USER_PUBLIC_KEY = /^U[A-Z2-7]{55}$/;

const enroll = createRoute({
  method: 'post',
  path: '/enroll',
  summary: 'Enroll an agent with a one-time enrollment token (no API token needed)',
  security: [],
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          // Not strict: newer agents may send fields this hub does not know yet.
          schema: z.object({
            token: z.string().min(1).max(200).openapi({ description: 'the kfe_... enrollment token' }),
            publicKey: z
              .string()
              .regex(USER_PUBLIC_KEY, 'must be a NATS user public nkey (56 chars of [A-Z2-7] starting with U)')
              .openapi({ description: 'the agent’s own NATS user nkey (its checksum is verified too); its seed never leaves the host' }),
            hostname: z.string().min(1).max(253),
            labels: LabelsSchema.optional(),
            agentVersion: z.string().min(1).max(64),
          }),
        },
      },
    },
  },
  responses: {
    201: {
      description: 'Enrolled',
      content: {
        'application/json': {
          schema: z
            .object({
              hostId: v1.ids.host,
              natsServers: z.array(z.string()),
              jwt: z.string().openapi({ description: 'NATS user JWT bound to publicKey, scoped to this host’s subjects' }),
            })
            .openapi('Enrollment'),
        },
      },
    },
    ...errorResponses(400, 401, 409),
  },
});

function isUserPublicKey(key: string): boolean {
  try {
    // Checks the key's CRC, so a mistyped key is refused here rather than by NATS later.
    fromPublic(key);
    return true;
  } catch {
    return false;
  }
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

// Named before validation, so a refused body is audited under the same action.
const auditAsEnroll = createMiddleware<AppEnv>(async (c, next) => {
  noteAudit(c, { action: 'hosts.enroll' });
  await next();
});

export function enrollRoutes({ db, authority, natsServers }: ApiDeps) {
  return createRouter().openapi({ ...enroll, middleware: [auditAsEnroll] }, async (c) => {
    const body = c.req.valid('json');
    noteAudit(c, { detail: { hostname: body.hostname, agentVersion: body.agentVersion } });
    const hash = hashSecretToken(body.token);

    const result = await db.transaction().execute(async (trx) => {
      // One conditional UPDATE claims the token, so of two concurrent enrollments
      // the second finds used_at set (after the first commits) and gets no row.
      const claimed = await trx
        .updateTable('enrollment_tokens')
        .set({ used_at: sql`now()` })
        .where('token_hash', '=', hash)
        .where('used_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', sql<Date>`now()`)
        .returning(['id', 'labels'])
        .executeTakeFirst();
      if (!claimed) return { refused: true as const };
      c.set('actor', { label: `enrollment:${claimed.id}` });
      // After the token, so a stranger learns nothing from it; throwing rolls the claim back.
      if (!isUserPublicKey(body.publicKey)) throw new ApiError(400, 'invalid body: publicKey: must be a NATS user public nkey (its checksum does not match)');

      const hostId = newId('h');
      // The token's labels win: they are the operator's intent for hosts enrolled with it.
      const labels = { ...body.labels, ...claimed.labels };
      try {
        await trx
          .insertInto('hosts')
          .values({
            id: hostId,
            hostname: body.hostname,
            labels: JSON.stringify(labels),
            nkey_public: body.publicKey,
            status: 'pending',
            agent_version: body.agentVersion,
            // The rest arrives with the agent's hello.
            proto_version: null,
            task_types: SQL_DEFAULT,
            heartbeat_interval_ms: SQL_DEFAULT,
            max_concurrency: SQL_DEFAULT,
            last_heartbeat: SQL_NULL,
          })
          .execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw new ApiError(409, 'this public key is already enrolled; generate a new key pair for a new enrollment');
        throw err;
      }
      await trx.updateTable('enrollment_tokens').set({ used_by_host: hostId }).where('id', '=', claimed.id).execute();
      const jwt = await authority.agentJwt(hostId, body.publicKey);
      noteAudit(c, { target: hostId, detail: { labels } });
      return { hostId, jwt };
    });

    if ('refused' in result) {
      const token = await db
        .selectFrom('enrollment_tokens')
        .select(['id', 'used_at', 'revoked_at', 'expires_at'])
        .where('token_hash', '=', hash)
        .executeTakeFirst();
      if (!token) throw new ApiError(401, 'unknown enrollment token');
      c.set('actor', { label: `enrollment:${token.id}` });
      if (token.revoked_at) throw new ApiError(401, 'enrollment token was revoked');
      if (token.used_at) throw new ApiError(401, 'enrollment token was already used');
      throw new ApiError(401, `enrollment token expired at ${token.expires_at.toISOString()}`);
    }
    return c.json({ hostId: result.hostId, natsServers, jwt: result.jwt }, 201);
  });
}
