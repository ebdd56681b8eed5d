import { describe, expect, it } from 'vitest';
import type { RealmResult } from './realm-results.js';
import { renderRealmDiff, summarizeRealmChanges } from './render-realm-diff.js';

const changed: RealmResult = {
  hostId: 'h_1',
  taskId: 't_1',
  ok: true,
  realm: 'demo',
  inSync: false,
  changes: [
    { resource: 'client', id: 'app-web', action: 'create' },
    { resource: 'client', id: 'app-api', action: 'update', fields: [{ path: 'redirectUris', from: ['a'], to: ['a', 'b'] }] },
    {
      resource: 'realm',
      id: 'demo',
      action: 'update',
      fields: [
        { path: 'displayName', from: null, to: 'Demo' },
        { path: 'smtp.password', from: '***', to: '***', note: 'changed' },
      ],
    },
    { resource: 'identityProvider', id: 'github', action: 'update', fields: [{ path: 'enabled', from: true, to: false }] },
    { resource: 'role', id: 'legacy', action: 'delete' },
  ],
};
const inSync: RealmResult = { hostId: 'h_2', taskId: 't_2', ok: true, realm: 'demo', inSync: true, changes: [] };
const failed: RealmResult = { hostId: 'h_3', taskId: 't_3', ok: false, state: 'failed', reason: 'handler_error: admin API unreachable' };

describe('renderRealmDiff', () => {
  it('prints a plan as creates, field-level updates and deletes per host, in sync, or why it failed', () => {
    expect(renderRealmDiff([changed, inSync, failed], 'plan')).toBe(
      [
        'h_1  realm demo: 5 changes',
        '  + client app-web',
        '  ~ client app-api: redirectUris [a] → [a, b]',
        '  ~ realm demo:',
        '      displayName (none) → Demo',
        '      smtp.password *** → *** (changed)',
        '  ~ identity provider github: enabled true → false',
        '  - role legacy',
        'h_2  realm demo: in sync',
        'h_3  failed: handler_error: admin API unreachable',
        '',
      ].join('\n'),
    );
  });

  it('says what an apply changed', () => {
    const one: RealmResult = { ...inSync, hostId: 'h_4', inSync: false, changes: [{ resource: 'clientScope', id: 'profile-x', action: 'create' }] };
    expect(renderRealmDiff([one, inSync], 'apply')).toBe(
      'h_4  realm demo: 1 change applied\n  + client scope profile-x\nh_2  realm demo: in sync, nothing changed\n',
    );
    expect(renderRealmDiff([{ ...failed, state: 'expired', reason: 'expired: host did not pick up the task' }], 'apply')).toBe(
      'h_3  expired: expired: host did not pick up the task\n',
    );
  });

  it('summarizes changes on one line', () => {
    expect(summarizeRealmChanges([])).toBe('no changes');
    expect(summarizeRealmChanges(changed.ok ? changed.changes.slice(0, 2) : [])).toBe('+ client app-web, ~ client app-api');
  });
});
