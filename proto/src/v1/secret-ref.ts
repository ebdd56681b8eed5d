import { z } from 'zod';

/**
 * A secret in task params is never a plain string: operators pass `{ "$secret": "name" }`,
 * the hub stores only that reference with the task and fills `value` from its encrypted
 * secret store into the message it sends to that one agent. So the database, the audit
 * log and task results never hold the secret; the agent reads `value`.
 */
export const secretRef = z
  .object({
    $secret: z.string().regex(/^[a-zA-Z0-9._-]{1,128}$/, 'secret names are 1-128 chars of [a-zA-Z0-9._-]'),
    value: z.string().max(65_536).optional(),
  })
  .strict();

export type SecretRef = z.infer<typeof secretRef>;
