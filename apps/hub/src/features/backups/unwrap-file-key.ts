import type { Readable } from 'node:stream';
import { Decrypter } from 'age-encryption';
import { ApiError } from '../../api/api-error.js';

/** An age header is a few hundred bytes per recipient; past this, the object is not age. */
const MAX_HEADER_BYTES = 1024 * 1024;

/** The `AGE-SECRET-KEY-…` lines of an identity file as age-keygen writes it (comments, then the key). */
export function ageIdentities(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
}

/**
 * Opens one age file's header with an identity given for one call and returns its file key: the
 * key that opens this file and nothing else. Only the header is read (up to the MAC line), the
 * header's MAC is checked, and the stream is closed. The identity is neither kept nor echoed:
 * errors say what is wrong without it. 400 when it is not an identity or does not open the file.
 */
export async function unwrapFileKey(object: Readable, identityText: string, backupId: string): Promise<Uint8Array> {
  const identities = ageIdentities(identityText);
  if (identities.length === 0) throw new ApiError(400, 'the identity holds no age identity (a line AGE-SECRET-KEY-1…, as age-keygen writes it)');
  const header = await readHeader(object).finally(() => object.destroy());
  const decrypter = new Decrypter();
  try {
    for (const identity of identities) decrypter.addIdentity(identity);
  } catch {
    throw new ApiError(400, 'the identity is not a valid age identity (AGE-SECRET-KEY-1…)');
  }
  try {
    return await decrypter.decryptHeader(header);
  } catch (err) {
    const why = /no identity matched/.test((err as Error).message) ? 'it is not one of the recipients the backup was encrypted to' : (err as Error).message;
    throw new ApiError(400, `the identity does not open backup ${backupId}: ${why}`);
  }
}

/** The bytes up to and including the header's `--- <mac>` line. */
async function readHeader(object: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of object) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    const all = Buffer.concat(chunks);
    const mac = all.indexOf('\n--- ');
    if (mac >= 0) {
      const end = all.indexOf('\n', mac + 1);
      if (end >= 0) return new Uint8Array(all.subarray(0, end + 1));
    }
    if (size > MAX_HEADER_BYTES) break;
  }
  throw new ApiError(409, 'the stored backup has no age header');
}
