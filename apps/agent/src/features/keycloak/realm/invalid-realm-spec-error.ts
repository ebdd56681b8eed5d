import { TaskFailure } from '../../../task-failure.js';

/**
 * A realm spec that cannot be applied as written (bad structure, a secret without a value, a
 * reference to a role or client scope that will not exist, …), found before anything in
 * Keycloak is touched; the task fails as `invalid_input`.
 */
export class InvalidRealmSpecError extends TaskFailure {
  constructor(readonly problems: string[]) {
    super('invalid_input', `invalid realm spec: ${problems.join('; ')}`);
    this.name = 'InvalidRealmSpecError';
  }
}
