import { createRoute, z } from '@hono/zod-openapi';
import { ErrorBody, errorResponses } from '../../api/error-responses.js';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
/** S3 allows 10 000 parts. */
const MAX_PARTS = 10_000;

/**
 * The three routes of a single-use upload under `base` (`/backup-uploads`,
 * `/backup-export-uploads`): the streamed PUT, a presigned part URL, and complete, whose body
 * carries what the writer sent plus `completeFields` (a backup's manifest, an export's realms).
 */
export function uploadRouteDefs<P extends string, Id extends z.ZodTypeAny, F extends z.ZodRawShape>(
  base: P,
  idParam: z.ZodObject<{ id: Id }>,
  what: { one: string; stored: string },
  completeFields: F,
) {
  const put = createRoute({
    method: 'put',
    path: `${base}/{id}` as const,
    summary: `Upload the ciphertext of ${what.one} (stream mode), once, with its single-use upload token`,
    description: 'The body is the raw age ciphertext (application/octet-stream), streamed; it is kept partial until complete.',
    security: [],
    request: { params: idParam },
    responses: {
      200: { description: 'Received', content: { 'application/json': { schema: z.object({ size: z.number(), sha256: Sha256 }) } } },
      ...errorResponses(400, 401, 409),
      507: { description: 'Backup storage is full or not writable', content: { 'application/json': { schema: ErrorBody } } },
    },
  });

  const part = createRoute({
    method: 'post',
    path: `${base}/{id}/parts/{partNumber}` as const,
    summary: `A presigned URL for one part of the S3 multipart upload of ${what.one} (s3-multipart mode)`,
    security: [],
    request: { params: idParam.extend({ partNumber: z.coerce.number().int().min(1).max(MAX_PARTS) }) },
    responses: {
      200: { description: 'Part URL', content: { 'application/json': { schema: z.object({ url: z.string(), expiresInSec: z.number() }) } } },
      ...errorResponses(400, 401, 409),
    },
  });

  const complete = createRoute({
    method: 'post',
    path: `${base}/{id}/complete` as const,
    summary: `Finish the upload of ${what.one}: the hub checks size and sha256 of what storage holds, then ${what.stored}`,
    security: [],
    // Up to 10 000 parts of ~230 bytes each plus a manifest: past the 16 KiB of routes anyone may call.
    'x-body-limit': 4 * 1024 * 1024,
    request: {
      params: idParam,
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z
              .object({
                size: z.number().int().nonnegative(),
                sha256: Sha256,
                parts: z
                  .array(z.object({ partNumber: z.number().int().min(1).max(MAX_PARTS), etag: z.string().min(1).max(200) }))
                  .max(MAX_PARTS)
                  .optional(),
                ...completeFields,
              })
              .strict(),
          },
        },
      },
    },
    responses: {
      200: { description: 'Stored', content: { 'application/json': { schema: z.object({ state: z.literal('stored') }) } } },
      ...errorResponses(400, 401, 409),
    },
  });

  return { put, part, complete };
}
