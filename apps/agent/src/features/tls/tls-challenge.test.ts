import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { testTaskContext } from '../../testing/test-task-context.js';
import { ChallengeResponder } from './challenge-responder.js';
import { tlsChallenge } from './tls-challenge.js';
import { testPort } from '@keyfleet/test-harness';

describe('tls.challenge', () => {
  it('answers its token only, and frees the port once the certificate is installed', async () => {
    const port = testPort();
    const out = await tlsChallenge({ certificateId: 'crt_c', token: 'tok-1', keyAuthorization: 'tok-1.thumb', port, ttlSec: 60 }, testTaskContext());
    expect(out.url).toMatch(new RegExp(`:${port}/.well-known/acme-challenge/tok-1$`));
    const good = await fetch(`http://127.0.0.1:${port}/.well-known/acme-challenge/tok-1`);
    expect([good.status, await good.text()]).toEqual([200, 'tok-1.thumb']);
    expect((await fetch(`http://127.0.0.1:${port}/.well-known/acme-challenge/other`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
    ChallengeResponder.forget('crt_c');
    expect(ChallengeResponder.isListening(port)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port}/.well-known/acme-challenge/tok-1`)).rejects.toThrow();
  });

  it('says so when the port is taken by another server', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, () => r()));
    const { port } = srv.address() as AddressInfo;
    try {
      await expect(tlsChallenge({ certificateId: 'crt_d', token: 't', keyAuthorization: 'k', port, ttlSec: 60 }, testTaskContext())).rejects.toThrow(
        `port ${port} is taken by another server`,
      );
    } finally {
      srv.close();
    }
  });
});
