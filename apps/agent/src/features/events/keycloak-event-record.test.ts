import { describe, expect, it } from 'vitest';
import { adminEventRecord, type KeycloakNames, loginEventRecord } from './keycloak-event-record.js';

const names: KeycloakNames = {
  realm: (id) => ({ 'id-master': 'master', 'id-shop': 'shop' })[id],
  user: async (realm, id) => (realm === 'master' && id === 'u-admin' ? 'admin' : realm === 'shop' && id === 'u-alice' ? 'alice' : undefined),
  client: async (realm, id) => (realm === 'master' && id === 'c-console' ? 'security-admin-console' : undefined),
};

describe('Keycloak event records', () => {
  it('name the user of a login event and leave out every detail that may carry a credential', async () => {
    const record = await loginEventRecord(
      'shop',
      {
        id: 'e1',
        time: Date.UTC(2026, 0, 1),
        type: 'LOGIN',
        userId: 'u-alice',
        clientId: 'web',
        ipAddress: '10.0.0.1',
        details: { auth_method: 'openid-connect', code_id: 'c', client_secret: 's', password: 'p', refresh_token_id: 'r', redirect_uri: 'https://app/cb' },
      },
      names,
    );
    expect(record).toEqual({
      source: 'login',
      id: 'e1',
      realm: 'shop',
      at: '2026-01-01T00:00:00.000Z',
      type: 'LOGIN',
      actor: 'alice',
      clientId: 'web',
      ip: '10.0.0.1',
      details: { auth_method: 'openid-connect', redirect_uri: 'https://app/cb' },
    });
  });

  it('take the typed user name of a failed login, and the id where no name is known', async () => {
    const typed = await loginEventRecord('shop', { id: 'e2', time: 0, type: 'LOGIN_ERROR', error: 'user_not_found', details: { username: 'mallory' } }, names);
    expect(typed).toMatchObject({ actor: 'mallory', error: 'user_not_found' });
    expect(await loginEventRecord('shop', { id: 'e3', time: 0, type: 'LOGIN', userId: 'u-gone' }, names)).toMatchObject({ actor: 'u-gone' });
  });

  it('name an admin event’s admin in its own realm and its client, and never carry the representation', async () => {
    const record = await adminEventRecord(
      'shop',
      {
        id: 'a1',
        time: 1000,
        operationType: 'CREATE',
        resourceType: 'USER',
        resourcePath: 'users/u-bob',
        authDetails: { realmId: 'id-master', userId: 'u-admin', clientId: 'c-console', ipAddress: '10.0.0.2' },
        ...{ representation: '{"credentials":[{"value":"hunter2"}]}' },
      },
      names,
    );
    expect(record).toEqual({
      source: 'admin',
      id: 'a1',
      realm: 'shop',
      at: '1970-01-01T00:00:01.000Z',
      type: 'CREATE USER',
      actor: 'admin@master',
      clientId: 'security-admin-console',
      ip: '10.0.0.2',
      resource: 'users/u-bob',
    });
    expect(JSON.stringify(record)).not.toContain('hunter2');
  });
});
