import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { PROTO_VERSION } from './subjects.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Thrown when bytes from the wire are not a valid message; `reason` is safe to log. */
export class DecodeError extends Error {
  constructor(readonly reason: string) {
    super(`cannot decode message: ${reason}`);
    this.name = 'DecodeError';
  }
}

type Envelope = { proto: string; msgId: string; sentAt: string; kind: string };

/** Fills the envelope fields and serializes; the schema is checked so a bad message never leaves. */
export function encode<S extends z.ZodType<Envelope>>(schema: S, body: Omit<z.input<S>, 'proto' | 'msgId' | 'sentAt'>): Uint8Array {
  const msg = schema.parse({ proto: PROTO_VERSION, msgId: randomUUID(), sentAt: new Date().toISOString(), ...body });
  return encoder.encode(JSON.stringify(msg));
}

/** Parses and validates; never returns a half-valid message. */
export function decode<S extends z.ZodType>(schema: S, data: Uint8Array): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new DecodeError(`not UTF-8 JSON (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new DecodeError(issues.join('; '));
  }
  return parsed.data;
}
