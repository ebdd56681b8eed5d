import { z } from '@hono/zod-openapi';

/** Host labels, with the same key and value rules as the agent's hello. */
export const LabelsSchema = z
  .record(z.string().regex(/^[a-zA-Z0-9._/-]{1,63}$/, 'label keys are 1-63 of [a-zA-Z0-9._/-]'), z.string().max(253))
  .openapi('Labels', { example: { env: 'prod', region: 'eu-1' } });
