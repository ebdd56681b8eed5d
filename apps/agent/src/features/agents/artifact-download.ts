import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { hubRefusal, hubRequest } from './hub-request.js';

/** What GET /v1/agent/artifact says about one artifact. */
export interface ArtifactInfo {
  version: string;
  sha256: string;
  size: number;
  wantedVersion: string | null;
  versions: string[];
}

export async function artifactInfo(stateDir: string, version?: string): Promise<ArtifactInfo> {
  const query = version ? `?version=${encodeURIComponent(version)}` : '';
  const res = await hubRequest(stateDir, `/v1/agent/artifact${query}`);
  if (!res.ok) throw new Error(`the hub has no agent artifact${version ? ` ${version}` : ''} for this host: ${await hubRefusal(res)}`);
  return (await res.json()) as ArtifactInfo;
}

/**
 * Streams the artifact of `version` from the hub (signed as this host) into `dest`, hashing as it
 * goes. Refuses more than `maxBytes`; with `expectedSha256`, a different file is deleted and
 * refused with a checksum error naming both sums.
 */
export async function downloadArtifact(
  stateDir: string,
  version: string,
  dest: string,
  opts: { expectedSha256?: string; maxBytes: number; signal?: AbortSignal },
): Promise<{ sha256: string; size: number }> {
  const res = await hubRequest(stateDir, `/v1/agent/artifact/file?version=${encodeURIComponent(version)}`, {
    signal: opts.signal ?? AbortSignal.timeout(10 * 60_000),
  });
  if (!res.ok || !res.body) throw new Error(`cannot download keyfleet-agent ${version} from the hub: ${await hubRefusal(res)}`);
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > opts.maxBytes) return done(new Error(`the hub sent more than the ${opts.maxBytes} bytes announced for keyfleet-agent ${version}`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), count, createWriteStream(dest, { mode: 0o700 }));
  } catch (err) {
    await rm(dest, { force: true });
    throw err;
  }
  const sha256 = hash.digest('hex');
  if (opts.expectedSha256 && sha256 !== opts.expectedSha256) {
    await rm(dest, { force: true });
    throw new Error(
      `checksum mismatch: keyfleet-agent ${version} from the hub has sha256 ${sha256}, expected ${opts.expectedSha256}; refusing to install it (the file the hub serves is not the one it announced)`,
    );
  }
  return { sha256, size };
}
