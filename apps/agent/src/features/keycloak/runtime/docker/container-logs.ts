import type Docker from 'dockerode';

/**
 * The last `lines` lines a container wrote (stdout and stderr). Without a TTY the engine
 * frames the output: an 8-byte header (stream, 0, 0, 0, big-endian length) per chunk.
 */
export async function containerLogs(container: Docker.Container, lines: number, since?: { sinceSec: number }): Promise<string> {
  // With `since`, each line starts with docker's RFC 3339 timestamp, so a reader can resume after the last it saw.
  const raw: Buffer = await container.logs(
    since ? { stdout: true, stderr: true, since: since.sinceSec, timestamps: true, follow: false } : { stdout: true, stderr: true, tail: lines, follow: false },
  );
  const chunks: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length && raw[at]! <= 2 && raw[at + 1] === 0 && raw[at + 2] === 0 && raw[at + 3] === 0) {
    const size = raw.readUInt32BE(at + 4);
    chunks.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  // A TTY container (or anything unframed) is plain text.
  return (at === 0 ? raw : Buffer.concat(chunks)).toString('utf8');
}
