import { keycloakFetch } from './keycloak-fetch.js';
import { oauthError } from './oauth-error.js';

export interface AdminCredentials {
  baseUrl: string;
  adminUser: string;
  adminPassword: string;
}

/**
 * Logs in to the master realm as the bootstrap admin (admin-cli, password grant) and lists
 * the realms, which proves the admin API answers. Throws with Keycloak's reason otherwise.
 */
export async function listRealms(creds: AdminCredentials, signal?: AbortSignal): Promise<string[]> {
  const tokenUrl = `${creds.baseUrl}/realms/master/protocol/openid-connect/token`;
  const token = await keycloakFetch(tokenUrl, {
    signal,
    form: { grant_type: 'password', client_id: 'admin-cli', username: creds.adminUser, password: creds.adminPassword },
  });
  const accessToken = (token.json as { access_token?: string } | undefined)?.access_token;
  if (token.status !== 200 || !accessToken) throw new Error(`admin login as ${creds.adminUser} refused: ${oauthError(token.status, token.json)}`);
  const realms = await keycloakFetch(`${creds.baseUrl}/admin/realms`, { signal, bearer: accessToken });
  if (realms.status !== 200 || !Array.isArray(realms.json)) throw new Error(`GET /admin/realms answered HTTP ${realms.status}`);
  return (realms.json as Array<{ realm: string }>).map((r) => r.realm);
}
