import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface TestCerts {
  /** PEM of the throwaway CA that signed the server certificate. */
  caFile: string;
  certFile: string;
  keyFile: string;
}

const run = promisify(execFile);

/**
 * A throwaway CA and a server certificate for 127.0.0.1/localhost, made with the openssl CLI
 * (Node cannot issue certificates). P-256 keys, valid for one day.
 */
export async function makeTestCerts(dir: string): Promise<TestCerts> {
  const p = (name: string) => join(dir, name);
  const openssl = async (args: string[]) => {
    try {
      await run('openssl', args, { cwd: dir });
    } catch (err) {
      throw new Error(`openssl ${args[0]} failed (is openssl installed?): ${(err as Error & { stderr?: string }).stderr ?? (err as Error).message}`);
    }
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-days', '1', '-subj', '/CN=keyfleet-test-ca', '-keyout', p('ca.key'), '-out', p('ca.pem')]);
  await openssl(['req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', p('server.key'), '-out', p('server.csr')]);
  await writeFile(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await openssl([
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.pem'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    p('server.ext'),
    '-out',
    p('server.pem'),
  ]);
  return { caFile: p('ca.pem'), certFile: p('server.pem'), keyFile: p('server.key') };
}
