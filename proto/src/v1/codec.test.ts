import { describe, expect, it } from 'vitest';
import { decode, DecodeError, encode } from './codec.js';
import { hello, result } from './envelope.js';

const helloBody = {
  kind: 'hello' as const,
  hostId: 'h_abc123',
  hostname: 'kc-1',
  agentVersion: '0.1.0',
  taskTypes: ['noop'],
  labels: { env: 'prod' },
  heartbeatIntervalMs: 15000,
  maxConcurrency: 4,
};

describe('codec', () => {
  it('round-trips a message and fills the envelope', () => {
    const msg = decode(hello, encode(hello, helloBody));
    expect(msg).toMatchObject({ ...helloBody, proto: 'v1' });
    expect(msg.msgId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(msg.sentAt)).not.toBeNaN();
  });

  it('refuses to encode an invalid message', () => {
    expect(() => encode(hello, { ...helloBody, hostId: 'bad.id.>' })).toThrow(/host id/);
  });

  it('rejects bytes that are not JSON with a reason', () => {
    expect(() => decode(hello, new TextEncoder().encode('{nope'))).toThrow(DecodeError);
    expect(() => decode(hello, new Uint8Array([0xff, 0xfe]))).toThrow(/not UTF-8 JSON/);
  });

  it('names the failing fields', () => {
    const bad = new TextEncoder().encode(JSON.stringify({ proto: 'v1', msgId: 'x', sentAt: new Date().toISOString(), kind: 'result' }));
    try {
      decode(result, bad);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as DecodeError).reason).toMatch(/hostId/);
    }
  });

  it('rejects another protocol version', () => {
    const raw = JSON.parse(new TextDecoder().decode(encode(hello, helloBody)));
    raw.proto = 'v2';
    expect(() => decode(hello, new TextEncoder().encode(JSON.stringify(raw)))).toThrow(/proto/);
  });
});
