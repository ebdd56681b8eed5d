import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadInstance } from '../../keycloak/index.js';
import { defineRule, type RuleEnv } from '../hardening-rule.js';
import { RuleRefused } from '../rule-refused.js';

const FIX =
  'set hostname-admin to an internal URL (keycloak.conf or KC_HOSTNAME_ADMIN), or serve Keycloak through a proxy that passes only /realms/, /resources/ and /.well-known/; then keyfleet keycloak update';

/** `hostname-admin` from the installed Keycloak's keycloak.conf (process runtime), if set. */
async function hostnameAdmin(env: RuleEnv): Promise<string | undefined> {
  const dir = env.params.paths.keycloakConfDir;
  if (!dir) return undefined;
  const conf = await readFile(join(env.root, dir, 'keycloak.conf'), 'utf8').catch(() => '');
  return /^\s*hostname-admin\s*=\s*(\S+)\s*$/m.exec(conf)?.[1];
}

/**
 * What the public URL answers for the admin console: a 2xx or 3xx means anyone who reaches the
 * login page reaches the console too; a 4xx means a proxy in front hides it. Anything else says
 * nothing, so it throws (the finding is an error, not a guess).
 */
async function probeConsole(hostname: string, signal: AbortSignal): Promise<{ url: string; status: number }> {
  const base = hostname.includes('://') ? hostname : `https://${hostname}`;
  const url = new URL('admin/master/console/', base.endsWith('/') ? base : `${base}/`).toString();
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) }).catch((err: Error) => {
    throw new Error(`cannot tell whether the admin console is public: ${url} is unreachable from this host (${err.cause ?? err.message})`);
  });
  await res.body?.cancel();
  if (res.status >= 500) throw new Error(`cannot tell whether the admin console is public: ${url} answered HTTP ${res.status}`);
  return { url, status: res.status };
}

/**
 * The admin console is not served on the public URL: `hostname-admin` gives it an address of its
 * own, or the proxy in front passes only the public paths (checked by asking the public URL for the
 * console). Check only, like the other config rules: changing it restarts Keycloak or changes the
 * proxy, which is `keyfleet keycloak update`'s job or the operator's.
 */
export const keycloakAdminConsoleRule = defineRule<never>({
  id: 'keycloak.admin-console',
  title: 'Keycloak: admin console not on the public URL',
  why: 'An admin console open to the internet invites password guessing on the accounts that control every realm.',
  async check(env) {
    const wanted = 'hostname-admin set, or the public URL refuses /admin/';
    const record = await loadInstance(join(env.root, env.params.paths.agentStateDir));
    if (!record) return { status: 'not-applicable', current: '-', wanted, reason: 'no Keycloak installed by this agent', changes: [] };
    if (!record.config) return { status: 'not-applicable', current: '-', wanted, reason: 'the instance record holds no config', changes: [] };
    const admin = await hostnameAdmin(env);
    if (admin) return { status: 'pass', current: `hostname-admin ${admin}`, wanted, changes: [] };
    const { url, status } = await probeConsole(record.config.hostname, env.signal);
    const hidden = status >= 400;
    return {
      status: hidden ? 'pass' : 'fail',
      current: hidden ? `${url} refused (HTTP ${status}): a proxy hides it` : `admin console served at ${url} (HTTP ${status}), no hostname-admin`,
      wanted,
      ...(hidden ? {} : { reason: FIX }),
      changes: [],
    };
  },
  async apply() {
    throw new RuleRefused(`refused: ${FIX}`);
  },
  async rollback() {},
});
