import { z } from 'zod';

/**
 * Ids travel inside NATS subjects, so they are restricted to one safe token:
 * lowercase letters, digits, `_` and `-`. A `.`, `*` or `>` would let a host id
 * widen a subscription or permission.
 */
const TOKEN = /^[a-z0-9][a-z0-9_-]{2,63}$/;

export const ids = {
  host: z.string().regex(TOKEN, 'host id must be 3-64 chars of [a-z0-9_-]'),
  task: z.string().regex(TOKEN, 'task id must be 3-64 chars of [a-z0-9_-]'),
  message: z.string().min(1).max(64),
};
