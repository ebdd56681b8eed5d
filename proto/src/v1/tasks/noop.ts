import { z } from 'zod';
import { defineTask } from '../define-task.js';

export const noop = defineTask({
  name: 'noop',
  description: 'Does nothing, optionally after a delay and returning a payload of a given size; for tests and benchmarks.',
  input: z
    .object({
      delayMs: z.number().int().min(0).max(3_600_000).default(0),
      sizeBytes: z.number().int().min(0).max(1_000_000).default(0),
      fail: z.string().max(500).optional().describe('fail with this message instead of succeeding'),
    })
    .strict(),
  output: z.object({ delayedMs: z.number().int(), payload: z.string() }),
  defaultTimeoutMs: 60_000,
  summary: (o) => (o.delayedMs > 0 ? `waited ${o.delayedMs} ms` : 'done') + (o.payload.length > 0 ? `, ${o.payload.length} bytes` : ''),
});
