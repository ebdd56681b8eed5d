import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import type { taskDefinitions } from '@keyfleet/proto/v1';
import { keycloakStateDir, loadInstance } from '../keycloak/index.js';
import type { ResolvedParams } from './hardening-rule.js';
import { passwdUsers } from './passwd-users.js';

type Params = z.output<(typeof taskDefinitions)['hardening.audit']['input']>['params'];

/** `nats://h:4222`, `tls://h`, `h:4222` → host and port (4222 when absent). */
export function natsEndpoint(url: string): { host: string; port: number } {
  const u = new URL(url.includes('://') ? url : `nats://${url}`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 4222 };
}

/** Fills the profile's parameters from the host: the installed Keycloak, the owner of the agent's state, its NATS servers. */
export async function resolveParams(params: Params, host: { root: string; stateDir: string; natsServers: string[] }): Promise<ResolvedParams> {
  const { root, stateDir } = host;
  const instance = await loadInstance(join(root, stateDir));
  const users = await passwdUsers(root);
  const { runtime, fileOwner: ownerName, ...rest } = params;
  let fileOwner: ResolvedParams['fileOwner'];
  if (ownerName) {
    const user = users.find((u) => u.name === ownerName);
    if (!user) throw new Error(`fileOwner ${ownerName} is not a user of this host`);
    fileOwner = { name: user.name, uid: user.uid };
  } else {
    // Keycloak runs as the user that runs the agent (child supervisor), so that user owns its files.
    const uid = (await stat(join(root, stateDir)).catch(() => undefined))?.uid ?? process.getuid?.() ?? 0;
    fileOwner = { name: users.find((u) => u.uid === uid)?.name ?? `uid ${uid}`, uid };
  }
  return {
    ...rest,
    runtime: runtime ?? instance?.runtime,
    fileOwner,
    paths: {
      agentStateDir: stateDir,
      keycloakConfDir: instance?.process ? join(instance.process.installDir, 'conf') : undefined,
      keycloakTlsDir: join(keycloakStateDir(stateDir), 'tls'),
      keycloakInstanceFile: join(keycloakStateDir(stateDir), 'instance.json'),
    },
    natsEndpoints: params.firewall?.natsEndpoints ?? host.natsServers.map(natsEndpoint),
    keycloak: instance?.baseUrl ? { baseUrl: instance.baseUrl, adminUser: instance.adminUser, adminPassword: instance.adminPassword } : undefined,
  };
}
