import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import type { Fleet } from '@keyfleet/test-harness';
import { adminCall, createLoginClient } from './keycloak-e2e.js';

/** Shared by the Keycloak version upgrade e2e files (process and docker runtime): the realm whose data must survive, the fleet's backup key. */

const run = promisify(execFile);

/** The older release upgraded from: the oldest 26.x Maven Central serves here whose DB schema the current one migrates. */
export const OLD_VERSION = '26.4.7';

export interface UpgradeRealmOptions {
  baseUrl: string;
  adminPassword: string;
  realm: string;
  /** Secret of the confidential client `kf-probe` (client-credentials logins). */
  clientSecret: string;
  /** Password of every user made here (password-grant logins through the public client `kf-app`). */
  userPassword: string;
  /** libpq URL of Keycloak's database, where the schema version is read. */
  databaseUrl: string;
}

/** A realm on the Keycloak to upgrade, with what the upgrade must keep and the logins that prove it. */
export function upgradeRealm(o: UpgradeRealmOptions) {
  const { baseUrl, adminPassword, realm } = o;
  const addUser = (username: string) =>
    adminCall(baseUrl, adminPassword, 'POST', `/realms/${realm}/users`, {
      username,
      enabled: true,
      email: `${username}@example.test`,
      firstName: 'Up',
      lastName: 'Grade',
      emailVerified: true,
      credentials: [{ type: 'password', value: o.userPassword, temporary: false }],
    });
  return {
    addUser,
    /** The realm, its clients `kf-probe` (confidential) and `kf-app` (public, password grant), and `users` users user-00, user-01, … */
    async seed(users: number) {
      await createLoginClient(baseUrl, adminPassword, realm, 'kf-probe', o.clientSecret);
      await adminCall(baseUrl, adminPassword, 'POST', `/realms/${realm}/clients`, { clientId: 'kf-app', publicClient: true, directAccessGrantsEnabled: true });
      for (let i = 0; i < users; i++) await addUser(`user-${String(i).padStart(2, '0')}`);
    },
    /** Users, clients and signing key ids of the realm. */
    async snapshot() {
      const users = await adminCall<number>(baseUrl, adminPassword, 'GET', `/realms/${realm}/users/count`);
      const clients = (await adminCall<Array<{ clientId: string }>>(baseUrl, adminPassword, 'GET', `/realms/${realm}/clients`)).map((c) => c.clientId).sort();
      const jwks = (await (await fetch(`${baseUrl}/realms/${realm}/protocol/openid-connect/certs`)).json()) as { keys: Array<{ kid: string }> };
      return { users, clients, kids: jwks.keys.map((k) => k.kid).sort() };
    },
    /** The newest schema version Keycloak recorded in its database. */
    async schemaVersion() {
      return (await run('psql', [o.databaseUrl, '-Atc', 'SELECT version FROM migration_model ORDER BY update_time DESC, version DESC LIMIT 1'])).stdout.trim();
    },
    /** A real user login: the password grant of the public client. */
    async userLogin(username: string) {
      const res = await fetch(`${baseUrl}/realms/${realm}/protocol/openid-connect/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'password', client_id: 'kf-app', username, password: o.userPassword }),
        signal: AbortSignal.timeout(10_000),
      });
      return res.status === 200 && Boolean(((await res.json()) as { access_token?: string }).access_token);
    },
  };
}

/** Gives the fleet a backup recipient (an upgrade needs one); its identity stays in `dir`, as an operator's would offline. */
export async function addBackupRecipient(fleet: Fleet, dir: string): Promise<void> {
  const keyFile = join(dir, 'backup-key.txt');
  await run('age-keygen', ['-o', keyFile]);
  const recipient = /public key: (age1\S+)/.exec(await readFile(keyFile, 'utf8'))![1]!;
  const key = await fleet.api.raw('POST', '/v1/backup-keys', { body: { name: 'upgrade-e2e', recipient } });
  expect(key.status, key.text).toBe(201);
}

/** A backup unit as the hub's catalog shows it. */
export async function catalogEntry(fleet: Fleet, id: string) {
  const res = await fleet.api.raw('GET', `/v1/backups/${id}`);
  expect(res.status, res.text).toBe(200);
  return res.json as { id: string; state: string; keycloakVersion: string | null; hostId: string };
}

/** A failed upgrade's message for the test log: its headline, then one timeline step a line. */
export function failedUpgradeText(message: string): string {
  const [headline, timeline = ''] = message.split('; timeline: ');
  return `${headline}\n  ${timeline.split('\n')[0]!.split(' | ').join('\n  ')}`;
}

/** A task's wall time in seconds, from the hub's record. */
export const taskSeconds = (task: { startedAt: string | null; finishedAt: string | null }) =>
  ((Date.parse(task.finishedAt!) - Date.parse(task.startedAt!)) / 1000).toFixed(1);

/** A succeeded update's timeline for the test log: one step a line. */
export const timelineLines = (timeline: Array<{ at: string; step: string; detail?: string }>) =>
  timeline.map((t) => `${t.at.slice(11, 19)} ${t.step}${t.detail ? ` (${t.detail.split('\n')[0]})` : ''}`).join('\n  ');
