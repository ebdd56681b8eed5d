import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { frontChallenges } from './front-challenges.js';

describe('frontChallenges', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'kf-front-acme-'));
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  it('keeps answers owner-only until their certificate is installed or they expire; refuses a token that is not base64url', async () => {
    const now = Date.now();
    await frontChallenges.put(stateDir, 'tok-a', { keyAuthorization: 'tok-a.k', certificateId: 'crt_1', expiresAt: now + 60_000 });
    await frontChallenges.put(stateDir, 'tok-b', { keyAuthorization: 'tok-b.k', certificateId: 'crt_2', expiresAt: now + 60_000 });
    await frontChallenges.put(stateDir, 'tok-old', { keyAuthorization: 'x', certificateId: 'crt_3', expiresAt: now - 1 });
    expect((await stat(join(stateDir, 'acme-challenges'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(stateDir, 'acme-challenges', 'tok-a'))).mode & 0o777).toBe(0o600);
    expect((await frontChallenges.answer(stateDir, 'tok-a'))?.keyAuthorization).toBe('tok-a.k');
    expect(await frontChallenges.answer(stateDir, 'tok-old')).toBeUndefined();
    expect(await frontChallenges.answer(stateDir, '../../etc/passwd')).toBeUndefined();
    await expect(frontChallenges.put(stateDir, '../x', { keyAuthorization: 'k', certificateId: 'crt_1', expiresAt: now })).rejects.toThrow(/base64url/);

    await frontChallenges.forget(stateDir, 'crt_1');
    expect(await readdir(join(stateDir, 'acme-challenges'))).toEqual(['tok-b']);
  });

  it('says no front serves HTTP when no Keycloak is installed', async () => {
    const { createLogger } = await import('@keyfleet/log');
    expect(await frontChallenges.servesHttpOn(stateDir, 8080, createLogger('test', { level: 'silent' }))).toBe(false);
  });
});
