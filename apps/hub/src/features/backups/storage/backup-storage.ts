import type { Readable } from 'node:stream';

/** What the hub received or found in storage: the ciphertext's size and sha256. */
export interface ObjectDigest {
  size: number;
  sha256: string;
}

interface StorageBase {
  /** Stored in the catalog with each backup, so a backup is read back from where it was written. */
  readonly kind: 'local' | 's3';
  /** A stored object's bytes, streamed. */
  read(key: string): Promise<Readable>;
  /** Streams the stored object through sha256 (what a complete upload and a drill trust). */
  digest(key: string): Promise<ObjectDigest>;
  /** Removes the object and anything partial of it (idempotent); `uploadId` aborts an S3 multipart upload. */
  remove(key: string, uploadId?: string | null): Promise<void>;
}

/** Storage the agent writes through the hub: one streamed PUT, kept partial until committed. */
export interface StreamStorage extends StorageBase {
  readonly uploadMode: 'stream';
  /** Writes a partial object; it is not readable as `key` until `commit`. */
  writePartial(key: string, body: Readable): Promise<ObjectDigest>;
  commit(key: string): Promise<void>;
}

/** Storage the agent writes directly, with presigned part URLs the hub hands out one by one. */
export interface MultipartStorage extends StorageBase {
  readonly uploadMode: 's3-multipart';
  startMultipart(key: string): Promise<string>;
  presignPart(key: string, uploadId: string, partNumber: number, expiresInSec: number): Promise<string>;
  completeMultipart(key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<void>;
}

/**
 * Where backup objects live. Agents never get credentials to it: they write one object each
 * through a single-use upload target the hub issues.
 */
export type BackupStorage = StreamStorage | MultipartStorage;
