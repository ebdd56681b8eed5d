import { describe, expect, it } from 'vitest';
import { realmResults } from './realm-results.js';

describe('realmResults', () => {
  it('reads diffs of succeeded tasks and reasons of the others', () => {
    const diff = { realm: 'demo', inSync: false, changes: [{ resource: 'role', id: 'r', action: 'create' }] };
    expect(
      realmResults([
        { id: 't_1', hostId: 'h_1', state: 'succeeded', output: diff, error: null },
        { id: 't_2', hostId: 'h_2', state: 'failed', output: null, error: { code: 'handler_error', message: 'boom' } },
        { id: 't_3', hostId: 'h_3', state: 'succeeded', output: { nope: 1 }, error: null },
      ]),
    ).toEqual([
      { hostId: 'h_1', taskId: 't_1', ok: true, ...diff },
      { hostId: 'h_2', taskId: 't_2', ok: false, state: 'failed', reason: 'handler_error: boom' },
      { hostId: 'h_3', taskId: 't_3', ok: false, state: 'succeeded', reason: 'the agent returned an output that is not a realm diff: {"nope":1}' },
    ]);
  });
});
