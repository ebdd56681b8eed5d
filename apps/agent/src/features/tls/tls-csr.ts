import { createHash, createPublicKey, generateKeyPair } from 'node:crypto';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { TaskHandler } from '../../task-handler.js';
import { writeFileAtomic } from '../../write-file-atomic.js';
import { privateDir, tlsPaths } from './tls-paths.js';

const generate = promisify(generateKeyPair);

/**
 * Makes the certificate's key here, keeps it 0600 in the agent's state and hands the hub only a
 * CSR: the private key never leaves the host. A new key per issuance and renewal, so a key that
 * leaked once does not outlive its certificate.
 */
export const tlsCsr: TaskHandler<'tls.csr'> = async (input, ctx) => {
  const { privateKey } = input.keyType === 'rsa-2048' ? await generate('rsa', { modulusLength: 2048 }) : await generate('ec', { namedCurve: 'P-256' });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // Loaded here, not at start: acme-client and its HTTP client cost the idle agent ~4 MB.
  const { default: acme } = await import('acme-client');
  const [, csr] = await acme.crypto.createCsr({ commonName: input.domains[0], altNames: input.domains }, keyPem);
  const path = tlsPaths.pendingKey(ctx.stateDir, input.certificateId);
  await privateDir(dirname(path));
  await writeFileAtomic(path, keyPem, 0o600);
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { csrPem: csr.toString(), keyType: input.keyType, publicKeySha256: createHash('sha256').update(spki).digest('hex') };
};
