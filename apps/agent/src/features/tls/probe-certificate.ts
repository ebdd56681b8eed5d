import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { certificateFacts, type CertificateFacts } from './certificate-facts.js';

/**
 * Performs a TLS handshake and returns what the server actually presented: the proof that an
 * installed certificate is the one served. Trust is not required (a private CA's certificate is
 * still the one served); the caller compares fingerprints.
 */
export function probeCertificate(opts: { host: string; port: number; servername?: string; signal?: AbortSignal; timeoutMs?: number }): Promise<{
  facts: CertificateFacts;
  nameMatches: boolean;
}> {
  const { host, port, servername } = opts;
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername, rejectUnauthorized: false, timeout: opts.timeoutMs ?? 5_000 }, () => {
      const peer = socket.getPeerCertificate();
      socket.end();
      if (!peer?.raw) return reject(new Error(`${host}:${port} presented no certificate`));
      const cert = new X509Certificate(peer.raw);
      resolve({ facts: certificateFacts(cert), nameMatches: servername ? cert.checkHost(servername) !== undefined : true });
    });
    const onAbort = () => socket.destroy(opts.signal?.reason as Error);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => opts.signal?.removeEventListener('abort', onAbort));
    socket.once('timeout', () => socket.destroy(new Error(`no TLS handshake within ${opts.timeoutMs ?? 5_000} ms with ${host}:${port}`)));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'ECONNREFUSED' ? `connection refused on ${host}:${port}` : `TLS handshake with ${host}:${port} failed: ${err.message}`)),
    );
  });
}
