import { loadInstance } from '../instance/instance-store.js';
import { applyRealm } from '../realm/apply-realm.js';
import type { KeycloakAdminCredentials } from '../realm/connect-keycloak-admin.js';
import { planRealm } from '../realm/plan-realm.js';
import { validateRealmSpec } from '../realm/validate-realm-spec.js';
import type { TaskContext, TaskHandler } from '../../../task-handler.js';

/** Compares a realm spec with the live realm of this host's Keycloak; changes nothing. */
export const keycloakRealmPlan: TaskHandler<'keycloak.realm.plan'> = async (input, ctx) => {
  // A spec that is wrong on its face fails as such, whatever the state of the host.
  validateRealmSpec(input.spec);
  const diff = await planRealm(await adminCredentials(ctx), input.spec, { signal: ctx.signal, progress: ctx.progress });
  ctx.log.info({ realm: diff.realm, changes: diff.changes.length }, diff.inSync ? 'realm in sync' : 'realm differs from its spec');
  return diff;
};

/** Applies a realm spec to this host's Keycloak and returns the changes made. */
export const keycloakRealmApply: TaskHandler<'keycloak.realm.apply'> = async (input, ctx) => {
  validateRealmSpec(input.spec);
  const diff = await applyRealm(await adminCredentials(ctx), input.spec, { signal: ctx.signal, progress: ctx.progress });
  ctx.log.info({ realm: diff.realm, changes: diff.changes.length }, 'realm applied');
  return diff;
};

async function adminCredentials(ctx: TaskContext): Promise<KeycloakAdminCredentials> {
  const instance = await loadInstance(ctx.stateDir);
  if (!instance) throw new Error('Keycloak is not installed on this host (run keycloak.install first)');
  if (instance.desiredState === 'stopped') throw new Error('Keycloak is stopped on this host (run keycloak.start first)');
  return { baseUrl: instance.baseUrl, adminUser: instance.adminUser, adminPassword: instance.adminPassword };
}
