import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Thrown by handlers; the app's error handler turns it into `{ error, details? }` with this status. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
