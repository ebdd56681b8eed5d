import { z } from 'zod';
import { secretRef } from '../secret-ref.js';

/** What every Keycloak task reports about the instance it touched. */
export const keycloakInstance = z.object({
  runtime: z.enum(['docker', 'process']),
  version: z.string(),
  ready: z.boolean(),
  baseUrl: z.string(),
  managementUrl: z.string(),
  uptimeSec: z.number().nonnegative().optional(),
  realms: z.array(z.string()).optional(),
});

/** One check of `keycloak.verify`. */
const verifyCheck = z.object({
  name: z.enum(['health', 'discovery', 'jwks', 'tls', 'admin-api', 'login']),
  ok: z.boolean(),
  detail: z.string().max(2000),
  ms: z.number().nonnegative(),
});

export const verifyReport = z.object({
  ok: z.boolean(),
  checkedAt: z.iso.datetime(),
  checks: z.array(verifyCheck),
});

/** How verify logs in: a confidential client with client-credentials, or a user with the password grant. */
export const verifyLogin = z.discriminatedUnion('grant', [
  z.object({ grant: z.literal('client_credentials'), realm: z.string(), clientId: z.string(), clientSecret: secretRef }).strict(),
  z.object({ grant: z.literal('password'), realm: z.string(), clientId: z.string(), username: z.string(), password: secretRef }).strict(),
]);

/** "26.4.7 docker, ready, up 5m, realms master,shop" for tables. */
export function describeInstance(i: z.output<typeof keycloakInstance>): string {
  const parts = [`${i.version} ${i.runtime}`, i.ready ? 'ready' : 'not ready'];
  if (i.uptimeSec !== undefined) parts.push(`up ${uptime(i.uptimeSec)}`);
  if (i.realms) parts.push(`realms ${i.realms.join(',')}`);
  return parts.join(', ');
}

function uptime(sec: number): string {
  if (sec < 120) return `${Math.round(sec)}s`;
  if (sec < 7200) return `${Math.round(sec / 60)}m`;
  return `${Math.round(sec / 3600)}h`;
}

/** "verified (health, discovery, …)" or which checks failed and why. */
export function describeVerification(report: z.output<typeof verifyReport>): string {
  const failed = report.checks.filter((c) => !c.ok);
  if (report.ok && failed.length === 0) return `verified (${report.checks.map((c) => c.name).join(', ')})`;
  return `verify failed: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ') || 'not ok'}`;
}
