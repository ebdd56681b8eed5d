import { readFileSync } from 'node:fs';

/** Where the kernel picks the ports of `listen(0)`, `-p -1` and every outgoing connection. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high) return [low, high];
  } catch {
    // not Linux: the IANA range
  }
  return [49152, 65535];
}

const FIRST = 10_000;
const SLICES = 16;
/** Ports this process was given, never given twice while the slice has others. */
const handedOut = new Set<number>();

/**
 * A port for a server that cannot pick its own (Postgres, Keycloak): no probe, so nothing else can
 * take it between a probe and the bind. It lies below the kernel's ephemeral range, where no
 * `listen(0)` server (nats-server `-p -1`, the hub) and no outgoing connection of this machine gets
 * its port, in a slice of its own per vitest worker, at random within the slice. What remains
 * (another test run on the same machine) ends in EADDRINUSE: callers that can, start again on
 * another port (startPostgres does).
 */
export function testPort(): number {
  const [low] = ephemeralRange();
  const sliceSize = Math.floor((Math.max(low, FIRST + SLICES * 100) - FIRST) / SLICES);
  const slice = Number(process.env.VITEST_POOL_ID ?? process.pid) % SLICES;
  // A test that asks for three ports at once got two equal ones about once in 500 runs.
  for (;;) {
    const port = FIRST + slice * sliceSize + Math.floor(Math.random() * sliceSize);
    if (handedOut.size >= sliceSize) handedOut.clear();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
