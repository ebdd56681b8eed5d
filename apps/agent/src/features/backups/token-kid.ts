/**
 * The `kid` in a JWT's header: which of its realm's keys signed the token. The signature itself
 * is not checked here; the drill asks whether the restored Keycloak signs with the backed-up keys.
 */
export function tokenKid(jwt: string): string | undefined {
  const [header] = jwt.split('.');
  if (!header) return undefined;
  try {
    const kid = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: unknown }).kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}
