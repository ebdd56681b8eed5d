import { describe, expect, it } from 'vitest';
import { refuseRenamedEnv } from './refuse-renamed-env.js';

describe('refuseRenamedEnv', () => {
  it('names each old setting with its new name', () => {
    expect(() => refuseRenamedEnv({ DATABASE_URL: 'postgres://x', NATS_CA: '/ca.pem' })).toThrow(
      'hub settings were renamed: DATABASE_URL → KEYFLEET_DATABASE_URL, NATS_CA → KEYFLEET_NATS_CA',
    );
  });

  it('accepts the new names, also beside an old one that another program on the host uses', () => {
    expect(() => refuseRenamedEnv({ KEYFLEET_DATABASE_URL: 'postgres://x' })).not.toThrow();
    expect(() => refuseRenamedEnv({ DATABASE_URL: 'postgres://other-app', KEYFLEET_DATABASE_URL: 'postgres://x' })).not.toThrow();
  });
});
