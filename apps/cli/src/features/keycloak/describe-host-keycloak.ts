import type { InferResponseType } from 'hono/client';
import type { keycloakClient } from './keycloak-client.js';

type HostDetail = InferResponseType<ReturnType<typeof keycloakClient>['hosts'][':id']['keycloak']['$get'], 200>;

/** `26.4.7 process, ready, realms master,demo` from the host record, or undefined when unknown. */
export function describeKeycloak(k: HostDetail['keycloak']): string | undefined {
  if (!k) return undefined;
  if (!k.installed) return `not installed (as of ${k.updatedAt})`;
  const realms = k.realms?.length ? `, realms ${k.realms.join(',')}` : '';
  return `${k.version} ${k.runtime}, ${k.ready ? 'ready' : 'not ready'}${realms} (as of ${k.updatedAt})`;
}

/** `ok (health, login) at …` or `FAILED: <why> at …`, from the host's last verification. */
export function describeVerification(v: HostDetail['lastVerification']): string | undefined {
  if (!v) return undefined;
  if (v.ok) return `ok (${v.checks.map((c) => c.name).join(', ')}) at ${v.checkedAt}`;
  const failed = v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
  return `FAILED: ${[v.error, ...failed].filter(Boolean).join('; ') || 'not ok'} at ${v.checkedAt}`;
}
