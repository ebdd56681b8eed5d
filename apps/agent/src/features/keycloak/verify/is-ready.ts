import { keycloakFetch } from './keycloak-fetch.js';

/** Whether /health/ready answers UP right now. */
export async function isReady(managementUrl: string, signal?: AbortSignal): Promise<boolean> {
  try {
    const res = await keycloakFetch(`${managementUrl}/health/ready`, { signal, timeoutMs: 3_000 });
    return res.status === 200 && (res.json as { status?: string } | undefined)?.status === 'UP';
  } catch {
    return false;
  }
}
