import { z } from '@hono/zod-openapi';

const LABEL_KEY = /^[a-zA-Z0-9._/-]{1,63}$/;

/** Host labels, with the same key and value rules as the agent's hello. */
export const LabelsSchema = z
  .record(z.string().regex(LABEL_KEY, 'label keys are 1-63 of [a-zA-Z0-9._/-]'), z.string().max(253))
  // The generator drops the key rule; propertyNames (JSON Schema, so OpenAPI 3.1) states it,
  // so clients and generators know which keys the hub refuses.
  .openapi('Labels', { example: { env: 'prod', region: 'eu-1' }, propertyNames: { pattern: LABEL_KEY.source } } as object);
