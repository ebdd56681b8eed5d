import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './find-binary.js';
import { testPort } from './test-port.js';

export interface KnotServer {
  /** host:port, as pebble's -dnsserver and the hub's RFC 2136 provider take it. */
  address: string;
  port: number;
  /** The zone it is authoritative for (e.g. `example.test`), open to TSIG-signed updates. */
  zone: string;
  /** The TSIG key that may update the zone. */
  tsig: { name: string; algorithm: 'hmac-sha256'; secret: string };
  /** Everything knotd printed, for assertions and failures. */
  output: string[];
  stop(): Promise<void>;
}

class PortTaken extends Error {}

/**
 * A real authoritative DNS server (Knot DNS from Debian) on a test port, serving one zone that
 * accepts RFC 2136 dynamic updates signed with a fresh TSIG key. Every name under the zone
 * resolves to 127.0.0.1, so the same zone serves HTTP-01 and DNS-01 tests.
 */
async function startKnotOnce(opts: { zone?: string }): Promise<KnotServer> {
  const bin = findBinary('knotd', 'KNOTD_BIN', ['/usr/sbin'], 'scripts/setup.sh (apt-get install knot)');
  const zone = opts.zone ?? 'example.test';
  const tsig = { name: 'kf-test-key', algorithm: 'hmac-sha256' as const, secret: randomBytes(32).toString('base64') };
  const dir = await mkdtemp(join(tmpdir(), 'kf-knot-'));
  const port = testPort();
  await writeFile(
    join(dir, `${zone}.zone`),
    [
      `$ORIGIN ${zone}.`,
      '$TTL 5',
      `@ SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 5`,
      '@ NS ns',
      'ns A 127.0.0.1',
      '@ A 127.0.0.1',
      '* A 127.0.0.1',
      '',
    ].join('\n'),
  );
  const config = join(dir, 'knot.conf');
  await writeFile(
    config,
    [
      'server:',
      `  rundir: "${dir}"`,
      `  listen: 127.0.0.1@${port}`,
      'log:',
      '  - target: stderr',
      '    any: info',
      'database:',
      `  storage: "${dir}"`,
      'key:',
      `  - id: ${tsig.name}`,
      `    algorithm: ${tsig.algorithm}`,
      `    secret: ${tsig.secret}`,
      'acl:',
      '  - id: tsig-update',
      `    key: ${tsig.name}`,
      '    action: update',
      'zone:',
      `  - domain: ${zone}`,
      `    storage: "${dir}"`,
      `    file: "${zone}.zone"`,
      '    acl: tsig-update',
      '',
    ].join('\n'),
  );
  const proc = spawn(bin, ['-c', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`knotd did not load ${zone} within 20 s:\n${output.join('\n')}`)), 20_000);
    const onData = (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        output.push(line);
        // knotd goes on without a listener it could not bind (the test port taken by another run).
        if (/cannot bind|failed to bind/i.test(line)) {
          clearTimeout(timer);
          reject(new PortTaken(`knotd could not bind 127.0.0.1@${port}: ${line}`));
        }
        // The zone is served once it is loaded, and the listener is bound before that.
        if (line.includes(`[${zone}.]`) && /loaded, serial/.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`knotd exited (${code}) before it served ${zone}:\n${output.join('\n')}`));
    });
  });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await ready;
  } catch (err) {
    await stop();
    throw err;
  }
  return { address: `127.0.0.1:${port}`, port, zone, tsig, output, stop };
}

/** startKnotOnce, on another test port when another run holds the one drawn (at most three tries). */
export async function startKnot(opts: { zone?: string } = {}): Promise<KnotServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startKnotOnce(opts);
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt === 3) throw err;
    }
  }
}
