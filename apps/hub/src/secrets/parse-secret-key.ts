/**
 * The hub secret key from its text form: 64 hex digits or base64 (standard or
 * url-safe) of exactly 32 bytes. The error never echoes the text.
 */
export function parseSecretKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)
      ? Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
      : undefined;
  if (key?.length !== 32) {
    throw new Error(`${source} must be 32 random bytes as 64 hex digits or base64 (e.g. \`openssl rand -base64 32\`)`);
  }
  return key;
}
