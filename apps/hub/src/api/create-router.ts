import { OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { ZodError } from 'zod';
import { ApiError } from './api-error.js';
import type { AppEnv } from './app-env.js';
import { describeIssues } from './describe-issues.js';
import { type ErrorStatus, errorResponses } from './error-responses.js';
import { BODY_LIMIT, limitBody, UNAUTHENTICATED_BODY_LIMIT } from './limit-body.js';

const TARGET_NAMES: Record<string, string> = { json: 'body', query: 'query', param: 'path', header: 'header' };

/**
 * Every feature router comes from here so validation failures share one shape,
 * `{ error, details }` with status 400. The hook is per router in @hono/zod-openapi,
 * so a router made elsewhere would answer with the library's default body instead.
 *
 * Each route declared with `openapi()` is completed from its own shape, so the
 * document states every status the shared machinery can answer and the machinery
 * matches the document: a body limit (413) and a required body (400) where a body is
 * declared, 415 for a body that is not JSON, 401 where credentials are required, 400
 * where anything is validated, 431 where a path or query can grow past Node's header limit,
 * 500 everywhere. Routes declare only their own statuses.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  const router = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const declare = router.openapi.bind(router) as (route: RouteConfig, handler: unknown, hook?: Hook) => unknown;
  // A route's own hook (POST /v1/tasks explains refusals in its terms) replaces the default
  // one, so the NUL check wraps whichever hook the route ends up with.
  router.openapi = ((route: RouteConfig, handler: unknown, hook?: Hook) =>
    declare(completeRoute(route), handler, refusingNul(hook ?? validationHook))) as typeof router.openapi;
  return router;
}

type Hook = (result: HookResult, c: Context<AppEnv>) => unknown;
type HookResult = { target: string } & ({ success: true; data: unknown } | { success: false; error: ZodError });

const validationHook: Hook = (result, c) => {
  if (!result.success) {
    const where = TARGET_NAMES[result.target] ?? result.target;
    return c.json({ error: `invalid ${where}: ${describeIssues(result.error)}`, details: result.error.issues }, 400);
  }
};

/** Postgres refuses NUL in text and jsonb; caught here it is the caller's 400, not our 500. */
function refusingNul(hook: Hook): Hook {
  return (result, c) => {
    if (result.success) {
      const at = findNul(result.data);
      if (at !== undefined) {
        const where = TARGET_NAMES[result.target] ?? result.target;
        return c.json({ error: `invalid ${where}: ${at || '(root)'}: must not contain NUL characters` }, 400);
      }
    }
    return hook(result, c);
  };
}

function completeRoute(route: RouteConfig): RouteConfig {
  const request = route.request;
  const body = request?.body;
  const authenticated = !(Array.isArray(route.security) && route.security.length === 0);
  const statuses: ErrorStatus[] = [];
  if (request?.params || request?.query || request?.headers || body) statuses.push(400);
  if (authenticated) statuses.push(401);
  if (body) statuses.push(413, 415);
  statuses.push(500);

  const declared = route.middleware === undefined ? [] : [route.middleware].flat();
  // After the route's own middleware (the guard), so a caller without credentials never gets
  // as far as having its body read.
  const middleware: MiddlewareHandler[] = [...(declared as MiddlewareHandler[])];
  // A route whose valid bodies can be larger states its own limit; it is in the document too.
  const ownLimit = (route as { 'x-body-limit'?: number })['x-body-limit'];
  if (body) middleware.push(limitBody(ownLimit ?? (authenticated ? BODY_LIMIT : UNAUTHENTICATED_BODY_LIMIT)));
  if (body?.required) middleware.push(requireBody);
  // Node answers 431 (no body) before the app sees a request line or headers over 16 KiB,
  // which a long enough path or query value makes.
  const responses: RouteConfig['responses'] = { ...errorResponses(...statuses) };
  if (request?.params || request?.query) responses[431] = { description: 'Request line or headers larger than 16 KiB (answered by the HTTP server, no body)' };
  return { ...route, middleware, responses: { ...responses, ...route.responses } };
}

/**
 * The validator reads a body only when it is labelled JSON and validates `{}` otherwise, so a
 * request without any body would pass for one whose fields are all optional. Runs after the
 * body limit, so what it reads is bounded; an unlabelled body that is not empty is left to the
 * media type check (415).
 */
const requireBody: MiddlewareHandler = async (c, next) => {
  if (!c.req.header('content-type')) {
    const raw = c.req.raw;
    const empty = raw.body === null || (await raw.clone().arrayBuffer()).byteLength === 0;
    if (empty) throw new ApiError(400, 'a JSON request body is required (Content-Type: application/json)');
  }
  await next();
};

/** The path of the first string (or object key) holding a NUL character, '' for the root. */
function findNul(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return value.includes('\0') ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = findNul(value[i], path ? `${path}.${i}` : String(i));
      if (at !== undefined) return at;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const at = key.includes('\0') ? path : findNul(item, path ? `${path}.${key}` : key);
      if (at !== undefined) return at;
    }
  }
  return undefined;
}
