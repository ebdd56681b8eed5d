/**
 * A secret value that opens exactly one age file: its 16-byte file key, as the hub unwraps it
 * from the file's header with an identity the operator supplied for one call. A restore or a
 * drill gets this instead of an identity, so the identity itself is never stored anywhere and
 * what is kept (sealed, until the task ends) opens that one backup and no other.
 */
export const AGE_FILE_KEY_PREFIX = 'age-file-key:';

export function encodeAgeFileKey(key: Uint8Array): string {
  return `${AGE_FILE_KEY_PREFIX}${Buffer.from(key).toString('base64')}`;
}

/** The file key of a value `encodeAgeFileKey` made; undefined for anything else (an identity, a key file). */
export function decodeAgeFileKey(value: string): Uint8Array | undefined {
  const text = value.trim();
  if (!text.startsWith(AGE_FILE_KEY_PREFIX)) return undefined;
  const key = Buffer.from(text.slice(AGE_FILE_KEY_PREFIX.length), 'base64');
  return key.length === 16 ? new Uint8Array(key) : undefined;
}
