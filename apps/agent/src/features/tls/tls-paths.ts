import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { keycloakStateDir } from '../keycloak/index.js';

/**
 * Where certificate material lives on the host. Keys made by `tls.csr` wait in the agent's own
 * state (0700) until their certificate arrives; installed PEMs sit beside the Keycloak they
 * serve, 0600, read by Keycloak itself.
 */
export const tlsPaths = {
  pendingKey: (stateDir: string, certificateId: string) => join(stateDir, 'tls', certificateId, 'pending-key.pem'),
  keycloakDir: (stateDir: string) => join(keycloakStateDir(stateDir), 'tls'),
  certificate: (stateDir: string) => join(keycloakStateDir(stateDir), 'tls', 'certificate.pem'),
  key: (stateDir: string) => join(keycloakStateDir(stateDir), 'tls', 'private-key.pem'),
};

/** Creates `dir` (and parents) owner-only, even where it already existed wider. */
export async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}
