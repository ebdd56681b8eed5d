import { createRoute, z } from '@hono/zod-openapi';
import { generateSecretToken } from '../../auth/secret-token.js';
import { newId } from '../../store/new-id.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError } from '../api-error.js';
import { createGuard } from '../create-guard.js';
import { createRouter } from '../create-router.js';
import { errorResponses } from '../error-responses.js';
import { noteAudit } from '../note-audit.js';
import { toIso } from '../to-iso.js';

const Role = z.enum(['admin', 'operator', 'viewer']);

const ApiToken = z
  .object({
    id: z.string(),
    name: z.string(),
    role: Role,
    createdAt: z.string(),
    createdBy: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi('ApiToken');

const IdParam = z.object({ id: z.string().min(1).max(64) });

const create = createRoute({
  method: 'post',
  path: '/api-tokens',
  summary: 'Create an API token (the secret is shown only in this response)',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          // A pattern rather than trim(): the document then says a blank name is refused.
          schema: z.object({ name: z.string().min(1).max(100).regex(/\S/, 'must not be blank'), role: Role }).strict(),
        },
      },
    },
  },
  responses: {
    201: {
      description: 'Created',
      content: { 'application/json': { schema: ApiToken.extend({ token: z.string() }) } },
    },
    ...errorResponses(400, 401, 403),
  },
});

const list = createRoute({
  method: 'get',
  path: '/api-tokens',
  summary: 'List API tokens (never their secrets)',
  responses: {
    200: { description: 'Tokens', content: { 'application/json': { schema: z.object({ items: z.array(ApiToken) }) } } },
    ...errorResponses(401, 403),
  },
});

const revoke = createRoute({
  method: 'delete',
  path: '/api-tokens/{id}',
  summary: 'Revoke an API token (with another one than the token being revoked)',
  request: { params: IdParam },
  responses: {
    200: { description: 'Revoked', content: { 'application/json': { schema: ApiToken } } },
    ...errorResponses(401, 403, 404, 409),
  },
});

type Row = {
  id: string;
  name: string;
  role: 'admin' | 'operator' | 'viewer';
  created_at: Date;
  created_by: string | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
};

function view(r: Row) {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    createdAt: toIso(r.created_at),
    createdBy: r.created_by,
    lastUsedAt: toIso(r.last_used_at),
    revokedAt: toIso(r.revoked_at),
  };
}

const COLUMNS = ['id', 'name', 'role', 'created_at', 'created_by', 'last_used_at', 'revoked_at'] as const;

export function apiTokensRoutes({ db }: ApiDeps) {
  const guard = createGuard(db);
  return createRouter()
    .openapi({ ...create, middleware: [guard('admin', 'api-tokens.create')] }, async (c) => {
      const { role } = c.req.valid('json');
      const name = c.req.valid('json').name.trim();
      const { token, hash } = generateSecretToken('kf_');
      const row = await db
        .insertInto('api_tokens')
        .values({ id: newId('tok'), name, role, token_hash: hash, created_by: c.get('actor')?.label ?? null })
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
      noteAudit(c, { target: row.id, detail: { name, role } });
      return c.json({ ...view(row), token }, 201);
    })
    .openapi({ ...list, middleware: [guard('admin', 'api-tokens.list')] }, async (c) => {
      const rows = await db.selectFrom('api_tokens').select(COLUMNS).orderBy('created_at').execute();
      return c.json({ items: rows.map(view) }, 200);
    })
    .openapi({ ...revoke, middleware: [guard('admin', 'api-tokens.revoke')] }, async (c) => {
      const { id } = c.req.valid('param');
      noteAudit(c, { target: id });
      const row = await db.transaction().execute(async (trx) => {
        const current = await trx.selectFrom('api_tokens').select(['role', 'revoked_at']).where('id', '=', id).forUpdate().executeTakeFirst();
        if (!current) throw new ApiError(404, `API token ${id} not found`);
        if (current.revoked_at) throw new ApiError(409, `API token ${id} is already revoked`);
        if (current.role === 'admin') {
          // Lock every live admin token so two concurrent revocations cannot remove the last two.
          const admins = await trx.selectFrom('api_tokens').select('id').where('role', '=', 'admin').where('revoked_at', 'is', null).forUpdate().execute();
          if (admins.length <= 1) throw new ApiError(409, `API token ${id} is the last admin token; create another admin token first`);
        }
        // Revoking the token in hand would lock its holder out mid-session; another admin can.
        if (id === c.get('actor')?.tokenId) throw new ApiError(409, `API token ${id} is the one making this request; revoke it with another admin token`);
        return trx.updateTable('api_tokens').set({ revoked_at: new Date() }).where('id', '=', id).returning(COLUMNS).executeTakeFirstOrThrow();
      });
      noteAudit(c, { detail: { name: row.name, role: row.role } });
      return c.json(view(row), 200);
    });
}
