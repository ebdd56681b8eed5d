import pg from 'pg';

export interface KeycloakShapedDataOptions {
  /** An existing realm (Keycloak created its schema and the realm). */
  realm: string;
  users: number;
  attributesPerUser: number;
  /** Rows of LOGIN events (event_entity), the table that grows largest on a real Keycloak with events on. */
  events: number;
}

/**
 * Bulk-inserts users the way Keycloak stores them into the schema a real Keycloak created:
 * user_entity, user_attribute, a pbkdf2-sha512 password credential each, the realm's default
 * roles, and login events. Values are md5 text, about as compressible as real names and ids.
 * Two connections at once: users (with their rows) on one, events on the other.
 */
export async function keycloakShapedData(url: string, opts: KeycloakShapedDataOptions): Promise<void> {
  const connect = async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return c;
  };
  const [a, b] = await Promise.all([connect(), connect()]);
  try {
    const realm = (await a.query<{ id: string }>('SELECT id FROM realm WHERE name = $1', [opts.realm])).rows[0]?.id;
    if (!realm) throw new Error(`realm ${opts.realm} not found`);
    const users = async () => {
      await a.query(
        `INSERT INTO user_entity (id, email, email_constraint, email_verified, enabled, first_name, last_name, realm_id, username, created_timestamp, not_before)
         SELECT 'bench-user-' || lpad(i::text, 8, '0'), 'user' || i || '@bench.example.com', 'user' || i || '@bench.example.com', true, true,
                'First' || substr(md5(i::text), 1, 8), 'Last' || substr(md5(i::text || 'l'), 1, 10), $1, 'user' || i,
                1700000000000 + i * 1000, 0
         FROM generate_series(1, $2::int) AS i`,
        [realm, opts.users],
      );
      await a.query(
        `INSERT INTO user_attribute (id, name, value, user_id)
         SELECT md5(i::text || '-' || j)::uuid::text, 'attribute' || j, md5(i::text || 'v' || j) || md5(j::text || 'w' || i) || md5(i::text || j),
                'bench-user-' || lpad(i::text, 8, '0')
         FROM generate_series(1, $1::int) AS i, generate_series(1, $2::int) AS j`,
        [opts.users, opts.attributesPerUser],
      );
      await a.query(
        `INSERT INTO credential (id, type, user_id, created_date, secret_data, credential_data, priority)
         SELECT md5('cred' || i)::uuid::text, 'password', 'bench-user-' || lpad(i::text, 8, '0'), 1700000000000 + i * 1000,
                '{"value":"' || encode(sha512(i::text::bytea), 'base64') || '","salt":"' || encode(md5('salt' || i)::bytea, 'base64') || '","additionalParameters":{}}',
                '{"hashIterations":210000,"algorithm":"pbkdf2-sha512","additionalParameters":{}}', 10
         FROM generate_series(1, $1::int) AS i`,
        [opts.users],
      );
      await a.query(
        `INSERT INTO user_role_mapping (role_id, user_id)
         SELECT r.id, 'bench-user-' || lpad(i::text, 8, '0')
         FROM generate_series(1, $2::int) AS i, keycloak_role r
         WHERE r.realm_id = $1 AND NOT r.client_role AND r.name = 'default-roles-' || (SELECT name FROM realm WHERE id = $1)`,
        [realm, opts.users],
      );
    };
    const events = () =>
      b.query(
        `INSERT INTO event_entity (id, client_id, details_json, ip_address, realm_id, session_id, event_time, type, user_id)
         SELECT md5('ev' || i)::uuid::text, 'account-console',
                '{"auth_method":"openid-connect","auth_type":"code","redirect_uri":"https://app.bench.example.com/cb/' || md5(i::text) ||
                  '","consent":"no_consent_required","code_id":"' || md5('c' || i)::uuid || '","username":"user' || (i % $3::int + 1) || '"}',
                '10.' || (i % 250) || '.' || (i / 250 % 250) || '.' || (i % 7), $1, md5('s' || i)::uuid::text, 1700000000000 + i * 500, 'LOGIN',
                'bench-user-' || lpad((i % $3::int + 1)::text, 8, '0')
         FROM generate_series(1, $2::int) AS i`,
        [realm, opts.events, opts.users],
      );
    await Promise.all([users(), events()]);
    await Promise.all([a.query('ANALYZE'), b.query('CHECKPOINT')]);
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
}
