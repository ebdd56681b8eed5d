import { describe, expect, it } from 'vitest';
import { forwardedHeaders } from './forwarded-headers.js';

const conn = { remoteAddress: '203.0.113.7', proto: 'http' as const };

describe('forwardedHeaders', () => {
  it('as the edge: tells Keycloak the client address, scheme and host, and drops every claim the client made', () => {
    const out = forwardedHeaders(
      {
        host: 'id.example.com:8080',
        accept: 'application/json',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-port': '443',
        forwarded: 'for=6.6.6.6;proto=https',
        'x-real-ip': '6.6.6.6',
      },
      conn,
      'none',
    );
    expect(out).toEqual({
      host: 'id.example.com:8080',
      accept: 'application/json',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'id.example.com:8080',
    });
  });

  it('behind a trusted X-Forwarded-* proxy: appends its peer to X-Forwarded-For and keeps what the proxy saw', () => {
    const out = forwardedHeaders(
      {
        host: 'backend.internal:8080',
        'x-forwarded-for': ['198.51.100.1', '10.0.0.5'],
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'id.example.com',
        'x-forwarded-port': '443',
        forwarded: 'for=6.6.6.6',
      },
      { remoteAddress: '::ffff:10.0.0.9', proto: 'http' },
      'xforwarded',
    );
    expect(out).toEqual({
      host: 'backend.internal:8080',
      'x-forwarded-for': '198.51.100.1, 10.0.0.5, 10.0.0.9',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'id.example.com',
      'x-forwarded-port': '443',
    });
  });

  it('behind a trusted X-Forwarded-* proxy that sent none: the front fills them in itself', () => {
    expect(forwardedHeaders({ host: 'id.example.com' }, conn, 'xforwarded')).toEqual({
      host: 'id.example.com',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'id.example.com',
    });
  });

  it('behind a trusted Forwarded proxy: appends an RFC 7239 element and drops X-Forwarded-*', () => {
    const out = forwardedHeaders(
      { host: 'id.example.com', forwarded: 'for=198.51.100.1;proto=https;host=id.example.com', 'x-forwarded-for': '6.6.6.6' },
      { remoteAddress: '2001:db8::9', proto: 'http' },
      'forwarded',
    );
    expect(out).toEqual({
      host: 'id.example.com',
      forwarded: 'for=198.51.100.1;proto=https;host=id.example.com, for="[2001:db8::9]";host=id.example.com;proto=http',
    });
    expect(forwardedHeaders({ host: 'id.example.com:8080' }, conn, 'forwarded').forwarded).toBe('for=203.0.113.7;host="id.example.com:8080";proto=http');
  });
});
