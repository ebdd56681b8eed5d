import { z } from '@hono/zod-openapi';

export const ErrorBody = z.object({ error: z.string(), details: z.unknown().optional() }).openapi('Error');

const descriptions = {
  400: 'Invalid input',
  401: 'Missing or invalid credentials',
  403: 'The token lacks the required role',
  404: 'Not found',
  409: 'Conflicts with the current state',
  413: 'The request body is larger than this route accepts',
  415: 'The request body is not JSON (send Content-Type: application/json)',
  500: 'Unexpected server error (logged by the hub)',
  502: 'A service the hub relies on for this request (e.g. an ACME CA) refused it or could not be reached; the message says which and why',
  503: 'Temporarily unavailable; retry after the Retry-After header’s seconds',
} as const;

export type ErrorStatus = keyof typeof descriptions;

/** OpenAPI response entries for the given error statuses, all with the common error body. */
export function errorResponses<const S extends ErrorStatus>(...statuses: S[]) {
  return Object.fromEntries(statuses.map((s) => [s, { description: descriptions[s], content: { 'application/json': { schema: ErrorBody } } }])) as unknown as {
    [K in S]: { description: string; content: { 'application/json': { schema: typeof ErrorBody } } };
  };
}
