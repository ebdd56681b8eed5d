import { OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.js';
import { describeIssues } from './describe-issues.js';
import { errorResponses } from './error-responses.js';
import { BODY_LIMIT, limitBody, UNAUTHENTICATED_BODY_LIMIT } from './limit-body.js';

const TARGET_NAMES: Record<string, string> = { json: 'body', query: 'query', param: 'path', header: 'header' };

/**
 * Every feature router comes from here so validation failures share one shape,
 * `{ error, details }` with status 400. The hook is per router in @hono/zod-openapi,
 * so a router made elsewhere would answer with the library's default body instead.
 *
 * Each route declared with `openapi()` that takes a body gets a body limit, and its
 * 413 in the document.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  const router = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const where = TARGET_NAMES[result.target] ?? result.target;
        return c.json({ error: `invalid ${where}: ${describeIssues(result.error)}`, details: result.error.issues }, 400);
      }
    },
  });
  const declare = router.openapi.bind(router);
  router.openapi = ((route: RouteConfig, ...rest: unknown[]) =>
    (declare as (...args: unknown[]) => unknown)(completeRoute(route), ...rest)) as typeof router.openapi;
  return router;
}

function completeRoute(route: RouteConfig): RouteConfig {
  const body = route.request?.body;
  if (!body) return route;
  const authenticated = !(Array.isArray(route.security) && route.security.length === 0);
  const declared = route.middleware === undefined ? [] : [route.middleware].flat();
  // After the route's own middleware (the guard), so a caller without credentials never gets
  // as far as having its body read.
  const middleware = [...(declared as MiddlewareHandler[]), limitBody(authenticated ? BODY_LIMIT : UNAUTHENTICATED_BODY_LIMIT)];
  return { ...route, middleware, responses: { ...errorResponses(413), ...route.responses } };
}
