import { describe, expect, it } from 'vitest';
import { collectSecretRefs } from './collect-secret-refs.js';

describe('collectSecretRefs', () => {
  it('finds references at any depth with their paths, and tells those carrying a value', () => {
    const params = {
      bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } },
      spec: { clients: [{ clientId: 'a' }, { clientId: 'b', secret: { $secret: 'b-secret', value: 'x' } }] },
      plain: 'not a ref',
      notRef: { $secret: 42 },
    };
    expect(collectSecretRefs(params)).toEqual([
      { path: 'bootstrapAdmin.password', name: 'kc-admin', hasValue: false },
      { path: 'spec.clients.1.secret', name: 'b-secret', hasValue: true },
    ]);
    expect(collectSecretRefs(null)).toEqual([]);
    expect(collectSecretRefs({ $secret: 'top' })).toEqual([{ path: '', name: 'top', hasValue: false }]);
  });
});
