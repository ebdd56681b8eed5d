import { join } from 'node:path';
import { type KeycloakInstanceRecord, loadInstance } from '../../keycloak/index.js';
import { defineRule, type HardeningRule, type RuleEnv } from '../hardening-rule.js';
import { RuleRefused } from '../rule-refused.js';

/** A rule's reading of the installed Keycloak's config: `fix` says how to put it right when it is not. */
export interface ConfigVerdict {
  ok: boolean;
  current: string;
  fix?: string;
  /** Set when the rule does not concern this Keycloak (e.g. no TLS to turn HTTP off for). */
  notApplicable?: string;
}

/**
 * A Keycloak setting checked from the instance record the agent keeps (no admin API needed).
 * Check only: changing it means restarting Keycloak with a new config, which is `keyfleet keycloak
 * update`'s job (verified, rolled back on failure), so apply refuses and names the change instead.
 */
export function keycloakConfigRule(def: {
  id: string;
  title: string;
  why: string;
  wanted: string;
  verdict: (record: KeycloakInstanceRecord, env: RuleEnv) => ConfigVerdict;
}): HardeningRule {
  return defineRule<never>({
    id: def.id,
    title: def.title,
    why: def.why,
    async check(env) {
      const record = await loadInstance(join(env.root, env.params.paths.agentStateDir));
      const none = (reason: string) => ({ status: 'not-applicable' as const, current: '-', wanted: def.wanted, reason, changes: [] });
      if (!record) return none('no Keycloak installed by this agent');
      // A record without its config (hand-made, or cut short) cannot be judged; the next install or update writes it whole.
      if (!record.config) return none('the instance record holds no config');
      const v = def.verdict(record, env);
      if (v.notApplicable) return none(v.notApplicable);
      return { status: v.ok ? 'pass' : 'fail', current: v.current, wanted: def.wanted, ...(v.ok ? {} : { reason: v.fix }), changes: [] };
    },
    async apply(_env, check) {
      throw new RuleRefused(`refused: changing it restarts Keycloak; ${check.reason ?? 'change the config with keyfleet keycloak update'}`);
    },
    async rollback() {},
  });
}
