import { TaskFailure } from '../../../task-failure.js';
import { loadInstance, type KeycloakInstanceRecord } from './instance-store.js';

/** The installed instance; a host without one fails the task as the caller's mistake. */
export async function installedInstance(stateDir: string): Promise<KeycloakInstanceRecord> {
  const record = await loadInstance(stateDir);
  if (!record) throw new TaskFailure('invalid_input', 'Keycloak is not installed on this host (run keycloak.install first)');
  return record;
}
