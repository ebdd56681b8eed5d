import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'kysely';
import type { ApiDeps } from '../../../api/api-deps.js';
import { ApiError } from '../../../api/api-error.js';
import { createGuard } from '../../../api/create-guard.js';
import { createRouter } from '../../../api/create-router.js';
import { errorResponses } from '../../../api/error-responses.js';
import { parseSelector } from '../../../api/parse-selector.js';
import { HostKeycloakSchema, HostVerificationSchema } from '../host-keycloak-schemas.js';
import { keycloakDb } from '../keycloak-tables.js';
import { SelectorSchema } from '../../../api/selector-schema.js';

const KeycloakHost = z
  .object({
    hostId: z.string(),
    hostname: z.string(),
    keycloak: HostKeycloakSchema.nullable(),
    lastVerification: HostVerificationSchema.nullable(),
  })
  .openapi('KeycloakHost');

const list = createRoute({
  method: 'get',
  path: '/keycloak/hosts',
  summary: "Each host's Keycloak as its tasks last reported it, and its last verification",
  request: {
    query: z.object({
      selector: SelectorSchema.optional(),
    }),
  },
  responses: {
    200: { description: 'Hosts', content: { 'application/json': { schema: z.object({ items: z.array(KeycloakHost) }) } } },
    ...errorResponses(400, 401, 403),
  },
});

const get = createRoute({
  method: 'get',
  path: '/hosts/{id}/keycloak',
  summary: "One host's Keycloak and its last verification",
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: {
    200: { description: 'Host', content: { 'application/json': { schema: KeycloakHost } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

/** The Keycloak read model of every host (hosts without a report yet show nulls). */
export function keycloakHostsRoutes({ db: coreDb }: ApiDeps) {
  const guard = createGuard(coreDb);
  const db = keycloakDb(coreDb);
  const rows = () =>
    db
      .selectFrom('hosts')
      .leftJoin('keycloak_hosts', 'keycloak_hosts.host_id', 'hosts.id')
      .select(['hosts.id as hostId', 'hosts.hostname', 'keycloak_hosts.instance as keycloak', 'keycloak_hosts.last_verification as lastVerification'])
      .orderBy('hosts.hostname')
      .orderBy('hosts.id');
  return createRouter()
    .openapi({ ...list, middleware: [guard('viewer', 'keycloak.hosts.list')] }, async (c) => {
      const { selector } = c.req.valid('query');
      let q = rows();
      if (selector) q = q.where(sql<boolean>`hosts.labels @> ${JSON.stringify(parseSelector(selector))}::jsonb`);
      const items = (await q.execute()).map((r) => ({ ...r, keycloak: r.keycloak ?? null, lastVerification: r.lastVerification ?? null }));
      return c.json({ items }, 200);
    })
    .openapi({ ...get, middleware: [guard('viewer', 'keycloak.hosts.get')] }, async (c) => {
      const { id } = c.req.valid('param');
      const row = await rows().where('hosts.id', '=', id).executeTakeFirst();
      if (!row) throw new ApiError(404, `host ${id} not found`);
      return c.json({ ...row, keycloak: row.keycloak ?? null, lastVerification: row.lastVerification ?? null }, 200);
    });
}
