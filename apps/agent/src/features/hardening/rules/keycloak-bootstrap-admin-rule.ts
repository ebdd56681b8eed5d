import { defineRule } from '../hardening-rule.js';
import { keycloakAdminApi } from '../keycloak-admin-api.js';
import { RuleRefused } from '../rule-refused.js';

/**
 * Keycloak 26 marks the admin made from KC_BOOTSTRAP_ADMIN_* as temporary. Check only: removing it
 * is the operator's step (a permanent admin first, then give the agent its credentials), since the
 * agent itself may be logging in as that user.
 */
export const keycloakBootstrapAdminRule = defineRule<never>({
  id: 'keycloak.bootstrap-admin',
  title: 'Keycloak: no temporary bootstrap admin left',
  why: 'The bootstrap admin is meant for the first minutes; its password sits in config and environment.',
  async check(env) {
    if (!env.params.keycloak) return { status: 'not-applicable', current: '-', wanted: '-', reason: 'no Keycloak installed by this agent', changes: [] };
    const api = await keycloakAdminApi(env.params.keycloak, env.signal);
    const users = await api.get<Array<{ username: string }>>('/master/users?q=is_temporary_admin:true&briefRepresentation=true');
    return {
      status: users.length ? 'fail' : 'pass',
      current: users.length ? `temporary admin ${users.map((u) => u.username).join(', ')}` : 'no temporary admin',
      wanted: 'no temporary admin in the master realm',
      ...(users.length ? { reason: 'fix by hand: create a permanent admin, then delete the temporary one' } : {}),
      changes: [],
    };
  },
  async apply() {
    throw new RuleRefused('refused: the temporary admin is removed by hand (create a permanent admin first; the agent may log in as this one)');
  },
  async rollback() {},
});
