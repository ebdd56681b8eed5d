import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import type { HubFeature } from '../hub-feature.js';
import type { ApiDeps } from './api-deps.js';
import { ApiError } from './api-error.js';
import { allowedMethods } from './allowed-methods.js';
import type { AppEnv } from './app-env.js';
import { auditTrail } from './audit-trail.js';
import { apiTokensRoutes } from './api-tokens/index.js';
import { auditRoutes } from './audit/index.js';
import { batchesRoutes } from './batches/index.js';
import { enrollRoutes } from './enroll/index.js';
import { enrollmentTokensRoutes } from './enrollment-tokens/index.js';
import { healthRoutes } from './health/index.js';
import { hostsRoutes } from './hosts/index.js';
import { secretsRoutes } from './secrets/index.js';
import { tasksRoutes } from './tasks/index.js';
import { completeDocument } from './complete-document.js';

/**
 * The hub's HTTP API: /healthz, /readyz, /metrics and everything under /v1, with
 * the OpenAPI document at /v1/openapi.json. The core's routes are chained so
 * `AppType` carries them for the CLI's typed `hc` client; each feature's routes
 * are mounted under /v1 too and typed by the feature's own route type.
 */
export function createApp(deps: ApiDeps, features: readonly HubFeature[]) {
  const app = new OpenAPIHono<AppEnv>();
  app.use('*', auditTrail(deps.db, deps.log));
  // A path that exists under other methods is a 405 naming them (RFC 9110), not a 404; checked
  // before routing, because a templated route (/v1/backups/{id}) would otherwise take a method
  // its concrete sibling (/v1/backups/prune) does not have.
  app.use('*', async (c, next) => {
    const allow = allowedMethods(app.routes, c.req.path);
    if (allow.length === 0) return next();
    if (c.req.method === 'OPTIONS') return c.body(null, 204, { Allow: allow.join(', ') });
    if (allow.includes(c.req.method === 'HEAD' ? 'GET' : c.req.method)) return next();
    c.header('Allow', allow.join(', '));
    return c.json({ error: `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allow.join(', ')}` }, 405);
  });
  app.onError((err, c) => {
    if (err instanceof ApiError) {
      return c.json(err.details === undefined ? { error: err.message } : { error: err.message, details: err.details }, err.status);
    }
    if (err instanceof HTTPException) return c.json({ error: err.message || 'bad request' }, err.status);
    deps.log.error({ err, method: c.req.method, path: c.req.path }, 'request failed');
    return c.json({ error: 'internal error' }, 500);
  });
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

  const routes = app
    .route('/', healthRoutes(deps))
    .route('/v1', apiTokensRoutes(deps))
    .route('/v1', enrollmentTokensRoutes(deps))
    .route('/v1', enrollRoutes(deps))
    .route('/v1', hostsRoutes(deps))
    .route('/v1', secretsRoutes(deps))
    .route('/v1', tasksRoutes(deps))
    .route('/v1', batchesRoutes(deps))
    .route('/v1', auditRoutes(deps));

  for (const feature of features) if (feature.routes) app.route('/v1', feature.routes(deps));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'API token (kf_...)' });
  let document: unknown;
  app.get('/v1/openapi.json', (c) => {
    // Built once, on first request: every route (features' too) is registered by then.
    document ??= completeDocument(
      app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'Keyfleet hub API', version: 'v1' }, security: [{ bearer: [] }] }),
    );
    return c.json(document);
  });
  return routes;
}

export type AppType = ReturnType<typeof createApp>;
