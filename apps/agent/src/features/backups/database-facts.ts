import type pg from 'pg';
import { kidOf } from './signing-kids.js';

export interface RealmFacts {
  realm: string;
  users: number;
  clients: number;
  groups: number;
  /** `kid`s of the realm's enabled, active key pairs, derived from the stored keys. */
  storedKids: string[];
}

/**
 * Realms with their user, client and group counts and key ids, read from Keycloak's own
 * tables. Run inside the snapshot pg_dump uses, so the counts describe exactly the dump.
 */
export async function databaseFacts(client: pg.ClientBase): Promise<RealmFacts[]> {
  const realms = await client.query<{ id: string; name: string; users: string; clients: string; groups: string }>(
    `SELECT r.id, r.name,
            (SELECT count(*) FROM user_entity u WHERE u.realm_id = r.id) AS users,
            (SELECT count(*) FROM client c WHERE c.realm_id = r.id) AS clients,
            (SELECT count(*) FROM keycloak_group g WHERE g.realm_id = r.id) AS groups
       FROM realm r ORDER BY r.name`,
  );
  const configs = await client.query<{ realm_id: string; component_id: string; name: string; value: string | null }>(
    `SELECT c.realm_id, c.id AS component_id, cc.name, cc.value
       FROM component c JOIN component_config cc ON cc.component_id = c.id
      WHERE c.provider_type = 'org.keycloak.keys.KeyProvider'`,
  );
  const components = new Map<string, { realm: string; config: Record<string, string> }>();
  for (const row of configs.rows) {
    const entry = components.get(row.component_id) ?? { realm: row.realm_id, config: {} };
    entry.config[row.name] = row.value ?? '';
    components.set(row.component_id, entry);
  }
  const kids = new Map<string, string[]>();
  for (const { realm, config } of components.values()) {
    if (config.enabled === 'false' || config.active === 'false') continue;
    // Symmetric keys (hmac, aes) never appear in a JWKS; only key pairs are compared.
    if (!config.certificate && !config.ecdsaPublicKey && !config.eddsaPublicKey && !config.ecdhPublicKey) continue;
    const kid = kidOf(config);
    if (kid) kids.set(realm, [...(kids.get(realm) ?? []), kid]);
  }
  return realms.rows.map((r) => ({
    realm: r.name,
    users: Number(r.users),
    clients: Number(r.clients),
    groups: Number(r.groups),
    storedKids: (kids.get(r.id) ?? []).sort(),
  }));
}
