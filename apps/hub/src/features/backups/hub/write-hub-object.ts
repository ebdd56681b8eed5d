import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BackupStorage, ObjectDigest } from '../storage/backup-storage.js';

/** An S3 part: what the agent sends per part too (S3 wants at least 5 MiB but the last). */
const PART_BYTES = 8 * 1024 * 1024;
const PART_URL_TTL_SEC = 15 * 60;

/**
 * Writes one backup object from the hub itself by the path agents use: a partial file committed
 * once whole (local), or an S3 multipart upload through presigned part URLs, one 8 MiB part in
 * memory at a time. Resolves with the size and sha256 of what storage holds.
 */
export async function writeHubObject(store: BackupStorage, key: string, uploadId: string | null, body: Readable): Promise<ObjectDigest> {
  if (store.uploadMode === 'stream') {
    const written = await store.writePartial(key, body);
    await store.commit(key);
    return written;
  }
  if (!uploadId) throw new Error('an S3 multipart upload needs its upload id');
  const hash = createHash('sha256');
  let size = 0;
  const parts: Array<{ partNumber: number; etag: string }> = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    const partNumber = parts.length + 1;
    const data = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    const res = await fetch(await store.presignPart(key, uploadId, partNumber, PART_URL_TTL_SEC), { method: 'PUT', body: data });
    if (!res.ok) throw new Error(`the object store refused part ${partNumber}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
    const etag = res.headers.get('etag');
    if (!etag) throw new Error(`the object store returned no ETag for part ${partNumber}`);
    parts.push({ partNumber, etag });
  };
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    hash.update(buf);
    size += buf.length;
    pending.push(buf);
    pendingBytes += buf.length;
    if (pendingBytes >= PART_BYTES) await flush();
  }
  if (pendingBytes > 0 || parts.length === 0) await flush();
  await store.completeMultipart(key, uploadId, parts);
  // What a restore will read is what storage holds: hash that, not what was sent.
  const held = await store.digest(key);
  const sha256 = hash.digest('hex');
  if (held.size !== size || held.sha256 !== sha256)
    throw new Error(`checksum mismatch: the hub sent ${size} bytes (sha256 ${sha256}), storage holds ${held.size} (sha256 ${held.sha256})`);
  return held;
}
