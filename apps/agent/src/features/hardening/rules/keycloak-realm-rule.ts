import { defineRule, type HardeningRule, type RuleCheck, type RuleEnv } from '../hardening-rule.js';
import { keycloakAdminApi } from '../keycloak-admin-api.js';

/** The realm fields the posture rules read and write. */
export interface RealmPosture {
  realm: string;
  bruteForceProtected?: boolean;
  sslRequired?: string;
  eventsEnabled?: boolean;
  eventsExpiration?: number;
}

const notInstalled = (): RuleCheck => ({ status: 'not-applicable', current: '-', wanted: '-', reason: 'no Keycloak installed by this agent', changes: [] });

async function realms(env: RuleEnv): Promise<RealmPosture[]> {
  const api = await keycloakAdminApi(env.params.keycloak!, env.signal);
  return api.get<RealmPosture[]>('?briefRepresentation=false');
}

/**
 * A setting every realm of the host's Keycloak should have, checked and changed through the admin
 * API: `fix` is the partial update for a realm that fails, `pick` the fields it changes (saved as
 * the before-state, put back by rollback).
 */
export function keycloakRealmRule(def: {
  id: string;
  title: string;
  why: string;
  wanted: string;
  ok: (r: RealmPosture) => boolean;
  show: (r: RealmPosture) => string;
  fix: (r: RealmPosture) => Partial<RealmPosture>;
  pick: (r: RealmPosture) => Partial<RealmPosture>;
}): HardeningRule {
  return defineRule<Array<{ realm: string; fields: Partial<RealmPosture> }>>({
    id: def.id,
    title: def.title,
    why: def.why,
    async check(env) {
      if (!env.params.keycloak) return notInstalled();
      const all = await realms(env);
      const wrong = all.filter((r) => !def.ok(r));
      return {
        status: wrong.length ? 'fail' : 'pass',
        current: all.map((r) => `${r.realm}: ${def.show(r)}`).join('; '),
        wanted: `every realm: ${def.wanted}`,
        changes: wrong.map((r) => ({ target: `realm ${r.realm}`, before: def.show(r), after: def.show({ ...r, ...def.fix(r) }) })),
      };
    },
    async apply(env) {
      const api = await keycloakAdminApi(env.params.keycloak!, env.signal);
      const before: Array<{ realm: string; fields: Partial<RealmPosture> }> = [];
      for (const r of await api.get<RealmPosture[]>('?briefRepresentation=false')) {
        if (def.ok(r)) continue;
        before.push({ realm: r.realm, fields: def.pick(r) });
        await api.put(`/${encodeURIComponent(r.realm)}`, def.fix(r));
      }
      return before;
    },
    async rollback(env, before) {
      const api = await keycloakAdminApi(env.params.keycloak!, env.signal);
      for (const { realm, fields } of before) await api.put(`/${encodeURIComponent(realm)}`, fields);
    },
  });
}
