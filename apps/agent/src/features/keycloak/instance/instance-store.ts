import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../write-file-atomic.js';
import type { KeycloakConfig } from '../keycloak-types.js';

/** Where a docker-runtime Keycloak runs: the agent's front proxy forwards the public ports to these backends. */
export interface DockerDeployment {
  containerName: string;
  /** The optimized image the container runs (built from `config.image`). */
  image: string;
  /** The one it ran before its last change of image: kept for a manual way back without a `kc.sh build`, as the process runtime keeps its previous dist. */
  previousImage?: string;
  /** Alternates between updates so the next container gets its own data volume beside the running one. */
  slot: 'a' | 'b';
  backendHttpPort: number;
  backendManagementPort: number;
  networkMode: string;
  /** The bundled Postgres container, when `config.database.kind` is `bundled`. */
  database?: { containerName: string; port: number };
}

export interface ProcessDeployment {
  /** The extracted and built distribution this instance runs from. */
  installDir: string;
  supervisor: 'child' | 'systemd';
  javaHome: string;
  /**
   * Alternates between updates, so the next Keycloak gets its own dist, data dir and supervisor
   * (pid file or unit) beside the running one. Absent on instances installed before the process
   * runtime had a front: those listen on the public ports themselves until their next update.
   */
  slot?: 'a' | 'b';
  /** Loopback ports this Keycloak listens on; the agent's front serves the public ports. Set with `slot`. */
  backendHttpPort?: number;
  backendManagementPort?: number;
}

/**
 * The Keycloak installed on this host, as the agent needs it to operate it later. Holds
 * the admin credentials and the secret values of the config, so it lives in a 0600 file
 * in a 0700 directory and is never sent to the hub, logged or put into a task result.
 */
export interface KeycloakInstanceRecord {
  runtime: 'docker' | 'process';
  version: string;
  /** Where this host reaches Keycloak's HTTP listener (the realm helper connects its admin client here). */
  baseUrl: string;
  /** Serves /health/ready and /metrics. */
  managementUrl: string;
  /** As configured: the public URL or hostname tokens are issued for. */
  hostname: string;
  httpPort: number;
  managementPort: number;
  adminUser: string;
  adminPassword: string;
  /** Hash of the config (secret values hashed in), for idempotent installs and updates. */
  configHash: string;
  config: KeycloakConfig;
  /** Whether the operator wants it running: a stopped instance stays stopped across agent restarts. */
  desiredState: 'running' | 'stopped';
  installedAt: string;
  updatedAt: string;
  process?: ProcessDeployment;
  docker?: DockerDeployment;
}

export const keycloakStateDir = (stateDir: string) => join(stateDir, 'keycloak');
const recordPath = (stateDir: string) => join(keycloakStateDir(stateDir), 'instance.json');

/** The installed instance, or undefined when Keycloak was never installed on this host. */
export async function loadInstance(stateDir: string): Promise<KeycloakInstanceRecord | undefined> {
  const path = recordPath(stateDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the Keycloak instance record ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as KeycloakInstanceRecord;
  } catch {
    // JSON.parse quotes its input, which holds the admin password: name the file only.
    throw new Error(`the Keycloak instance record ${path} is not valid JSON`);
  }
}

export async function saveInstance(stateDir: string, record: KeycloakInstanceRecord): Promise<void> {
  const dir = keycloakStateDir(stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await writeFileAtomic(recordPath(stateDir), JSON.stringify(record, null, 2), 0o600);
}
