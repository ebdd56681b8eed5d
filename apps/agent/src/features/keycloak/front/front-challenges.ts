import { mkdir, readdir, readFile, rm, writeFile, chmod, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '@keyfleet/log';
import { frontBackends } from '../instance/front-backends.js';
import { loadInstance } from '../instance/instance-store.js';
import { frontOptions } from './front-options.js';
import { KeycloakFront } from './keycloak-front.js';

/** One ACME HTTP-01 answer as the front serves it. */
export interface FrontChallengeAnswer {
  keyAuthorization: string;
  certificateId: string;
  expiresAt: number;
}

/** The token alphabet of RFC 8555 8.3 (base64url): anything else is never a file name here. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

const dir = (stateDir: string) => join(resolve(stateDir), 'acme-challenges');

/**
 * ACME HTTP-01 answers served by the Keycloak front on its public HTTP port. The front owns that
 * port (so no short-lived listener can take it) and is its own process, so answers pass through
 * files in the agent's 0700 state dir: no control-protocol change, and an answer survives an
 * agent restart mid-order. The agent writes them (tls.challenge) and removes them after the
 * install; the front reads them per request and ignores expired ones.
 */
export const frontChallenges = {
  async put(stateDir: string, token: string, answer: FrontChallengeAnswer): Promise<void> {
    if (!TOKEN.test(token)) throw new Error('an ACME token is base64url');
    const d = dir(stateDir);
    await mkdir(d, { recursive: true, mode: 0o700 });
    await chmod(d, 0o700);
    const tmp = join(d, `.${token}.tmp`);
    await writeFile(tmp, JSON.stringify(answer), { mode: 0o600 });
    await rename(tmp, join(d, token));
  },

  /** The key authorization for `token`, if one is waiting and not expired. */
  async answer(stateDir: string, token: string, now = Date.now()): Promise<FrontChallengeAnswer | undefined> {
    if (!TOKEN.test(token)) return undefined;
    const text = await readFile(join(dir(stateDir), token), 'utf8').catch(() => undefined);
    if (!text) return undefined;
    try {
      const a = JSON.parse(text) as FrontChallengeAnswer;
      return a.expiresAt >= now ? a : undefined;
    } catch {
      return undefined;
    }
  },

  /** Drops a certificate's answers (it was installed), and any expired ones on the way. */
  async forget(stateDir: string, certificateId: string, now = Date.now()): Promise<void> {
    const d = dir(stateDir);
    const names = await readdir(d).catch(() => [] as string[]);
    for (const name of names.filter((n) => TOKEN.test(n))) {
      const a = await frontChallenges.answer(stateDir, name, now);
      if (!a || a.certificateId === certificateId) await rm(join(d, name), { force: true });
    }
  },

  /**
   * Whether the front of the installed Keycloak serves plain HTTP on `port` right now, so the CA's
   * HTTP-01 request reaches it there: a Keycloak behind a front, that port its public HTTP port,
   * HTTP not closed by TLS, and the front process answering.
   */
  async servesHttpOn(stateDir: string, port: number, log: Logger): Promise<boolean> {
    const record = await loadInstance(stateDir);
    if (!record || !frontBackends(record) || record.desiredState !== 'running' || record.config.httpPort !== port) return false;
    const tls = frontOptions(record.config).tls;
    if (tls && !tls.httpEnabled) return false;
    return KeycloakFront.for(stateDir, log).isOpen();
  },
};
