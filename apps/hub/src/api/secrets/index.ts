import { createRoute, z } from '@hono/zod-openapi';
import type { SecretInfo } from '../../secrets/secret-store.js';
import type { ApiDeps } from '../api-deps.js';
import { ApiError } from '../api-error.js';
import { createGuard } from '../create-guard.js';
import { createRouter } from '../create-router.js';
import { errorResponses } from '../error-responses.js';
import { noteAudit } from '../note-audit.js';

const Secret = z
  .object({ name: z.string(), createdAt: z.string(), updatedAt: z.string(), updatedBy: z.string() })
  .openapi('Secret', { description: 'A stored secret; its value is never returned' });

const NameParam = z.object({
  name: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,128}$/, 'secret names are 1-128 chars of [a-zA-Z0-9._-]')
    .openapi({ example: 'keycloak-admin' }),
});

const put = createRoute({
  method: 'put',
  path: '/secrets/{name}',
  summary: 'Store a secret (encrypted at rest); task params refer to it as {"$secret": name}',
  request: {
    params: NameParam,
    body: {
      required: true,
      content: { 'application/json': { schema: z.object({ value: z.string().min(1).max(65_536) }).strict() } },
    },
  },
  responses: {
    200: { description: 'Stored', content: { 'application/json': { schema: Secret.extend({ created: z.boolean() }) } } },
    ...errorResponses(400, 401, 403),
  },
});

const list = createRoute({
  method: 'get',
  path: '/secrets',
  summary: 'List secret names (never values)',
  responses: {
    200: { description: 'Secrets', content: { 'application/json': { schema: z.object({ items: z.array(Secret) }) } } },
    ...errorResponses(401, 403),
  },
});

const remove = createRoute({
  method: 'delete',
  path: '/secrets/{name}',
  summary: 'Delete a secret; queued tasks that refer to it fail when dispatched',
  request: { params: NameParam },
  responses: {
    200: { description: 'Deleted', content: { 'application/json': { schema: z.object({ name: z.string() }) } } },
    ...errorResponses(401, 403, 404),
  },
});

const view = (s: SecretInfo) => ({ name: s.name, createdAt: s.createdAt.toISOString(), updatedAt: s.updatedAt.toISOString(), updatedBy: s.updatedBy });

export function secretsRoutes({ db, secrets }: ApiDeps) {
  const guard = createGuard(db);
  return createRouter()
    .openapi({ ...put, middleware: [guard('admin', 'secrets.put')] }, async (c) => {
      const { name } = c.req.valid('param');
      noteAudit(c, { target: name });
      const stored = await secrets.put(name, c.req.valid('json').value, c.get('actor')?.label ?? 'unknown');
      noteAudit(c, { detail: { created: stored.created } });
      return c.json({ ...view(stored), created: stored.created }, 200);
    })
    .openapi({ ...list, middleware: [guard('operator', 'secrets.list')] }, async (c) => {
      return c.json({ items: (await secrets.list()).map(view) }, 200);
    })
    .openapi({ ...remove, middleware: [guard('admin', 'secrets.delete')] }, async (c) => {
      const { name } = c.req.valid('param');
      noteAudit(c, { target: name });
      if (!(await secrets.delete(name))) throw new ApiError(404, `secret ${name} not found`);
      return c.json({ name }, 200);
    });
}
