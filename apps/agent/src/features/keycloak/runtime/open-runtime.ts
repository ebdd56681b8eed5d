import type { Logger } from '@keyfleet/log';
import type { KeycloakRuntime } from './keycloak-runtime.js';
import { DockerRuntime } from './docker/docker-runtime.js';
import { ProcessRuntime } from './process/process-runtime.js';

export async function openRuntime(kind: 'docker' | 'process', stateDir: string, log: Logger): Promise<KeycloakRuntime> {
  return kind === 'process' ? new ProcessRuntime(stateDir, log) : DockerRuntime.open(stateDir, log);
}
