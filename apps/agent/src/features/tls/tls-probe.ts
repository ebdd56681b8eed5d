import type { TaskHandler } from '../../task-handler.js';
import { probeCertificate } from './probe-certificate.js';

/** The certificate this host serves on a port, read from a real handshake over loopback. */
export const tlsProbe: TaskHandler<'tls.probe'> = async (input, ctx) => {
  const { facts, nameMatches } = await probeCertificate({ host: '127.0.0.1', port: input.port, servername: input.servername, signal: ctx.signal });
  return { served: facts, nameMatches };
};
