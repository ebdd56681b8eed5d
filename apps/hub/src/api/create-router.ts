import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './app-env.js';
import { describeIssues } from './describe-issues.js';

const TARGET_NAMES: Record<string, string> = { json: 'body', query: 'query', param: 'path', header: 'header' };

/**
 * Every feature router comes from here so validation failures share one shape,
 * `{ error, details }` with status 400. The hook is per router in @hono/zod-openapi,
 * so a router made elsewhere would answer with the library's default body instead.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const where = TARGET_NAMES[result.target] ?? result.target;
        return c.json({ error: `invalid ${where}: ${describeIssues(result.error)}`, details: result.error.issues }, 400);
      }
    },
  });
}
