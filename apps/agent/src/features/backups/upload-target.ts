import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { z } from 'zod';
import type { taskDefinitions } from '@keyfleet/proto/v1';
import { TaskFailure } from '../../task-failure.js';
import { secretValue } from '../../secret-value.js';

type UploadTarget = z.output<(typeof taskDefinitions)['backup.run']['input']>['upload'];

export interface Uploaded {
  size: number;
  sha256: string;
  parts?: Array<{ partNumber: number; etag: string }>;
}

/** Parts held in memory one at a time: 8 MiB (S3's minimum part is 5 MiB). */
const DEFAULT_PART = 8 * 1024 * 1024;

/** The target's URL, absolute or relative to the hub this agent enrolled with. */
export function targetUrl(url: string, hubUrl: string): string {
  return new URL(url, hubUrl.endsWith('/') ? hubUrl : `${hubUrl}/`).toString();
}

async function refused(res: Response, what: string): Promise<never> {
  const text = await res.text().catch(() => '');
  let reason = text.slice(0, 500);
  try {
    reason = (JSON.parse(text) as { error?: string }).error ?? reason;
  } catch {
    // not JSON: the text itself
  }
  throw new TaskFailure('handler_error', `${what}: HTTP ${res.status} ${reason}`);
}

/**
 * Sends the ciphertext to the one object the hub opened for this backup, hashing it on the way:
 * in `stream` mode as one streamed PUT to the hub; in `s3-multipart` mode part by part straight
 * to the object store, each part to a presigned URL the hub hands out for it (one part buffered
 * at a time, so memory stays at one part whatever the size).
 */
export async function uploadCiphertext(body: ReadableStream<Uint8Array>, target: UploadTarget, hubUrl: string, signal: AbortSignal): Promise<Uploaded> {
  const url = targetUrl(target.url, hubUrl);
  const auth = { authorization: `Bearer ${secretValue(target.token)}` };
  const hash = createHash('sha256');
  let size = 0;
  if (target.mode === 'stream') {
    const tapped = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          hash.update(chunk);
          size += chunk.length;
          controller.enqueue(chunk);
        },
      }),
    );
    // node:http rather than fetch: its request pipes with real backpressure, where fetch's
    // streamed body let memory grow with the size of the backup (537 MiB RSS for 400 MiB).
    const res = await putStream(url, { ...auth, 'content-type': 'application/octet-stream' }, tapped, signal);
    if (res.status < 200 || res.status >= 300) await refused(new Response(res.text, { status: res.status }), 'the hub refused the backup upload');
    const got = JSON.parse(res.text) as { size: number; sha256: string };
    const sha256 = hash.digest('hex');
    if (got.size !== size || got.sha256 !== sha256)
      throw new TaskFailure('handler_error', `the hub received ${got.size} bytes (sha256 ${got.sha256}), the agent sent ${size} (sha256 ${sha256})`);
    return { size, sha256 };
  }

  const partSize = target.partSizeBytes ?? DEFAULT_PART;
  const parts: Array<{ partNumber: number; etag: string }> = [];
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    const partNumber = parts.length + 1;
    const data = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    const presign = await fetch(`${url}/parts/${partNumber}`, { method: 'POST', headers: auth, signal });
    if (!presign.ok) await refused(presign, `the hub refused a URL for part ${partNumber}`);
    const { url: partUrl } = (await presign.json()) as { url: string };
    const put = await putPart(partUrl, data, signal);
    if (put.status < 200 || put.status >= 300) await refused(new Response(put.text, { status: put.status }), `the object store refused part ${partNumber}`);
    const etag = put.etag;
    if (!etag) throw new TaskFailure('handler_error', `the object store returned no ETag for part ${partNumber}`);
    parts.push({ partNumber, etag });
  };
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.length;
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= partSize) await flush();
  }
  if (pendingBytes > 0 || parts.length === 0) await flush();
  return { size, sha256: hash.digest('hex'), parts };
}

/**
 * Ends the upload: the hub checks what storage holds against size and sha256, then the object is
 * stored (with what describes it: a backup's manifest, an export's realms).
 */
export async function completeUpload(target: UploadTarget, hubUrl: string, body: Uploaded & Record<string, unknown>, signal: AbortSignal): Promise<void> {
  const res = await fetch(`${targetUrl(target.url, hubUrl)}/complete`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secretValue(target.token)}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  if (!res.ok) await refused(res, 'the hub did not accept the upload');
}

/** One PUT whose body is piped from a web stream; resolves with the status and the answer's text. */
function putStream(
  url: string,
  headers: Record<string, string>,
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): Promise<{ status: number; text: string }> {
  const request = new URL(url).protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers, signal }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    pipeline(Readable.fromWeb(body as never), req).catch(reject);
  });
}

/** One part to its presigned URL, with node:http (fetch kept copies of 8 MiB bodies alive longer). */
function putPart(url: string, data: Buffer, signal: AbortSignal): Promise<{ status: number; text: string; etag: string | undefined }> {
  const request = new URL(url).protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': String(data.length) }, signal }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, etag: res.headers.etag }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}
