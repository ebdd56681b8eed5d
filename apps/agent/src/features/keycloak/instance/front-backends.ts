import type { KeycloakInstanceRecord } from './instance-store.js';

/**
 * The loopback ports the agent's front forwards the public ports to, for an instance that runs
 * behind a front (every docker-runtime one, process-runtime ones installed with a slot); undefined
 * for one that listens on its public ports itself.
 */
export function frontBackends(
  record: Pick<KeycloakInstanceRecord, 'runtime' | 'docker' | 'process'>,
): { httpPort: number; managementPort: number } | undefined {
  const d = record.runtime === 'docker' ? record.docker : record.process;
  if (!d?.backendHttpPort || !d.backendManagementPort) return undefined;
  return { httpPort: d.backendHttpPort, managementPort: d.backendManagementPort };
}
