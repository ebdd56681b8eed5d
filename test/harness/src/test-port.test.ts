import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { testPort } from './test-port.js';

describe('testPort', () => {
  it('stays below the ephemeral range, in this worker’s slice, and binds', async () => {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const ports = Array.from({ length: 200 }, () => testPort());
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(low!);
    }
    // One worker's ports fall in one slice: another worker's cannot be among them.
    expect(Math.max(...ports) - Math.min(...ports)).toBeLessThan((low! - 10_000) / 16);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[0], '127.0.0.1', resolve);
    }).catch((err: NodeJS.ErrnoException) => {
      // Taken by something else on this machine: what callers handle by trying another.
      expect(err.code).toBe('EADDRINUSE');
    });
    server.close();
  });

  it('never gives one process the same port twice while its slice has others', () => {
    // 1,000 draws from a slice of ~1,400 would repeat one almost surely if drawn independently.
    const ports = Array.from({ length: 1_000 }, () => testPort());
    expect(new Set(ports).size).toBe(ports.length);
  });
});
