import { describe, expect, it } from 'vitest';
import { parseHubSubject, subjects } from './subjects.js';

describe('subjects', () => {
  it('parses what it builds', () => {
    expect(parseHubSubject(subjects.hub.result('h_1a2'))).toEqual({ hostId: 'h_1a2', kind: 'result' });
    expect(parseHubSubject(subjects.hub.hello('h_1a2'))).toEqual({ hostId: 'h_1a2', kind: 'hello' });
  });

  it('refuses foreign, versioned-differently and unknown-kind subjects', () => {
    expect(parseHubSubject('kf.v2.hub.h_1.result')).toBeUndefined();
    expect(parseHubSubject('kf.v1.agent.h_1.task')).toBeUndefined();
    expect(parseHubSubject('kf.v1.hub.h_1.reboot')).toBeUndefined();
    expect(parseHubSubject('kf.v1.hub.h_1.result.extra')).toBeUndefined();
  });
});
