import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

/** Bodies of routes anyone may call (enrollment): small, since no credential stands before them. */
export const UNAUTHENTICATED_BODY_LIMIT = 16 * 1024;
/**
 * Bodies of authenticated routes: task params and realm specs fit with room to spare. A route
 * whose valid bodies can be larger (or, unauthenticated, larger than 16 KiB) says so with
 * `'x-body-limit': bytes` in its declaration.
 */
export const BODY_LIMIT = 1024 * 1024;

function tooLarge(maxSize: number) {
  return `request body is larger than ${maxSize} bytes, the limit of this route`;
}

/**
 * Refuses a body over `maxSize` with 413 before it is buffered: a declared Content-Length
 * over the limit is refused unread, and any other body is counted as it streams (hono's
 * bodyLimit stops reading at the limit). Content-Length is not trusted to be small: the
 * count always runs, so a body longer than its header claims is cut off too.
 */
export function limitBody(maxSize: number): MiddlewareHandler {
  const counting = bodyLimit({ maxSize, onError: (c) => c.json({ error: tooLarge(maxSize) }, 413) });
  return async (c, next) => {
    const raw = c.req.raw;
    if (!raw.body) return next();
    const declared = raw.headers.get('content-length');
    if (declared !== null) {
      if (Number(declared) > maxSize) return c.json({ error: tooLarge(maxSize) }, 413);
      const headers = new Headers(raw.headers);
      headers.delete('content-length');
      c.req.raw = new Request(raw, { headers, duplex: 'half' } as RequestInit);
    }
    return counting(c, next);
  };
}
