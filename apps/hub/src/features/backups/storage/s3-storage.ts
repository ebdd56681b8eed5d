import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { MultipartStorage, ObjectDigest } from './backup-storage.js';

export interface S3StorageOptions {
  endpoint?: string;
  region: string;
  bucket: string;
  /** Prepended to every key (`backups/`). */
  prefix: string;
  forcePathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Any S3-compatible store; the agent writes with presigned part URLs, never with these credentials. */
export class S3Storage implements MultipartStorage {
  readonly kind = 's3' as const;
  readonly uploadMode = 's3-multipart' as const;
  private readonly client: S3Client;

  constructor(private readonly opts: S3StorageOptions) {
    this.client = new S3Client({
      endpoint: opts.endpoint,
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
      // Presigned part URLs must not demand checksum headers the agent does not send.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
    });
  }

  private key(key: string): string {
    return this.opts.prefix + key;
  }

  async startMultipart(key: string): Promise<string> {
    const r = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.opts.bucket, Key: this.key(key), ContentType: 'application/octet-stream' }),
    );
    if (!r.UploadId) throw new Error('S3 returned no UploadId');
    return r.UploadId;
  }

  presignPart(key: string, uploadId: string, partNumber: number, expiresInSec: number): Promise<string> {
    return getSignedUrl(this.client, new UploadPartCommand({ Bucket: this.opts.bucket, Key: this.key(key), UploadId: uploadId, PartNumber: partNumber }), {
      expiresIn: expiresInSec,
    });
  }

  async completeMultipart(key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<void> {
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.opts.bucket,
        Key: this.key(key),
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
      }),
    );
  }

  async read(key: string): Promise<Readable> {
    const r = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }));
    return r.Body as Readable;
  }

  async digest(key: string): Promise<ObjectDigest> {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of await this.read(key)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { size, sha256: hash.digest('hex') };
  }

  async remove(key: string, uploadId?: string | null): Promise<void> {
    if (uploadId) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.opts.bucket, Key: this.key(key), UploadId: uploadId })).catch((err: unknown) => {
        // Already completed or aborted: nothing partial is left.
        if ((err as { name?: string }).name !== 'NoSuchUpload') throw err;
      });
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }));
  }
}
