/** Keycloak's own reason for a refused token request, e.g. "invalid_grant: Invalid user credentials". */
export function oauthError(status: number, json: unknown): string {
  const body = (json ?? {}) as { error?: string; error_description?: string };
  return [body.error, body.error_description].filter(Boolean).join(': ') || `HTTP ${status}`;
}
