import { connect } from 'node:net';

/** Splits `host:port` (port 53 when absent; `[v6]:port` for IPv6). */
function parseDnsServer(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  if (!m) throw new Error(`${address} is not a DNS server address (host, host:port or [v6]:port)`);
  return { host: m[1]!, port: m[2] ? Number(m[2]) : 53 };
}

/**
 * One DNS exchange over TCP (RFC 1035 4.2.2: two-byte length prefix). TCP, not UDP: an update
 * with its TSIG and the answer fit in no size limit, and a lost datagram needs no retry logic.
 */
export function dnsOverTcp(address: string, message: Buffer, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
  const { host, port } = parseDnsServer(address);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(opts.timeoutMs ?? 10_000, () =>
      fail(new Error(`the DNS server ${address} did not answer within ${(opts.timeoutMs ?? 10_000) / 1000} s`)),
    );
    const onAbort = () => fail(opts.signal?.reason ?? new Error('aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let received = Buffer.alloc(0);
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.write(Buffer.concat([length, message]));
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        opts.signal?.removeEventListener('abort', onAbort);
        socket.end();
        resolve(received.subarray(2, 2 + received.readUInt16BE(0)));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => fail(new Error(`the DNS server ${address} is unreachable: ${err.code ?? err.message}`)));
    socket.on('close', () => fail(new Error(`the DNS server ${address} closed the connection without an answer`)));
  });
}
