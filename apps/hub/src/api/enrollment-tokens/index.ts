import { createRoute, z } from '@hono/zod-openapi';
import { generateSecretToken } from '../../auth/secret-token.js';
import { newId } from '../../store/new-id.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError } from '../api-error.js';
import { createGuard } from '../create-guard.js';
import { createRouter } from '../create-router.js';
import { errorResponses } from '../error-responses.js';
import { LabelsSchema } from '../labels-schema.js';
import { noteAudit } from '../note-audit.js';
import { toIso } from '../to-iso.js';

const MAX_TTL_SECONDS = 30 * 24 * 3600;

const EnrollmentToken = z
  .object({
    id: z.string(),
    labels: LabelsSchema,
    createdAt: z.string(),
    createdBy: z.string(),
    expiresAt: z.string(),
    usedAt: z.string().nullable(),
    usedByHost: z.string().nullable(),
    revokedAt: z.string().nullable(),
    status: z.enum(['active', 'used', 'expired', 'revoked']),
  })
  .openapi('EnrollmentToken');

const create = createRoute({
  method: 'post',
  path: '/enrollment-tokens',
  summary: 'Create a single-use enrollment token (the secret is shown only in this response)',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              labels: LabelsSchema.optional().openapi({ description: 'given to the enrolled host; they win over the agent’s own labels' }),
              ttlSeconds: z.number().int().min(60).max(MAX_TTL_SECONDS).default(3600),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: EnrollmentToken.extend({ token: z.string() }) } } },
    ...errorResponses(400, 401, 403),
  },
});

const list = createRoute({
  method: 'get',
  path: '/enrollment-tokens',
  summary: 'List enrollment tokens (never their secrets)',
  responses: {
    200: { description: 'Tokens', content: { 'application/json': { schema: z.object({ items: z.array(EnrollmentToken) }) } } },
    ...errorResponses(401, 403),
  },
});

const revoke = createRoute({
  method: 'delete',
  path: '/enrollment-tokens/{id}',
  summary: 'Revoke an unused enrollment token',
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: {
    200: { description: 'Revoked', content: { 'application/json': { schema: EnrollmentToken } } },
    ...errorResponses(401, 403, 404, 409),
  },
});

const COLUMNS = ['id', 'labels', 'created_at', 'created_by', 'expires_at', 'used_at', 'used_by_host', 'revoked_at'] as const;

type Row = {
  id: string;
  labels: Record<string, string>;
  created_at: Date;
  created_by: string;
  expires_at: Date;
  used_at: Date | null;
  used_by_host: string | null;
  revoked_at: Date | null;
};

function view(r: Row) {
  const status = r.revoked_at ? 'revoked' : r.used_at ? 'used' : r.expires_at.getTime() <= Date.now() ? 'expired' : 'active';
  return {
    id: r.id,
    labels: r.labels,
    createdAt: toIso(r.created_at),
    createdBy: r.created_by,
    expiresAt: toIso(r.expires_at),
    usedAt: toIso(r.used_at),
    usedByHost: r.used_by_host,
    revokedAt: toIso(r.revoked_at),
    status: status as 'active' | 'used' | 'expired' | 'revoked',
  };
}

export function enrollmentTokensRoutes({ db }: ApiDeps) {
  const guard = createGuard(db);
  return createRouter()
    .openapi({ ...create, middleware: [guard('admin', 'enrollment-tokens.create')] }, async (c) => {
      const { labels = {}, ttlSeconds } = c.req.valid('json');
      const { token, hash } = generateSecretToken('kfe_');
      const row = await db
        .insertInto('enrollment_tokens')
        .values({
          id: newId('enr'),
          token_hash: hash,
          labels: JSON.stringify(labels),
          created_by: c.get('actor')?.label ?? 'unknown',
          expires_at: new Date(Date.now() + ttlSeconds * 1000),
        })
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
      noteAudit(c, { target: row.id, detail: { labels, ttlSeconds } });
      return c.json({ ...view(row), token }, 201);
    })
    .openapi({ ...list, middleware: [guard('admin', 'enrollment-tokens.list')] }, async (c) => {
      const rows = await db.selectFrom('enrollment_tokens').select(COLUMNS).orderBy('created_at', 'desc').execute();
      return c.json({ items: rows.map(view) }, 200);
    })
    .openapi({ ...revoke, middleware: [guard('admin', 'enrollment-tokens.revoke')] }, async (c) => {
      const { id } = c.req.valid('param');
      noteAudit(c, { target: id });
      const row = await db
        .updateTable('enrollment_tokens')
        .set({ revoked_at: new Date() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .where('used_at', 'is', null)
        .returning(COLUMNS)
        .executeTakeFirst();
      if (row) return c.json(view(row), 200);
      const current = await db.selectFrom('enrollment_tokens').select(['revoked_at', 'used_by_host']).where('id', '=', id).executeTakeFirst();
      if (!current) throw new ApiError(404, `enrollment token ${id} not found`);
      throw new ApiError(
        409,
        current.revoked_at ? `enrollment token ${id} is already revoked` : `enrollment token ${id} was already used by host ${current.used_by_host}`,
      );
    });
}
