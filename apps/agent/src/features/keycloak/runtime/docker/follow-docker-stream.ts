import type Docker from 'dockerode';

interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Waits for a pull/load/build stream to end. The engine reports failures inside the stream
 * (HTTP 200 with an `error` event), so they are turned into a rejection here with the
 * output that came before, which usually says why.
 */
export function followDockerStream(docker: Docker, stream: NodeJS.ReadableStream): Promise<string[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, events: ProgressEvent[]) => {
      const lines = events.map((e) => (e.stream ?? e.status ?? '').trimEnd()).filter(Boolean);
      const failed = events.find((e) => e.error || e.errorDetail);
      if (err || failed) {
        const reason = failed?.errorDetail?.message ?? failed?.error ?? err?.message ?? 'unknown error';
        return reject(new Error(`${reason}${lines.length ? `\n${lines.slice(-15).join('\n')}` : ''}`));
      }
      resolve(lines);
    });
  });
}
