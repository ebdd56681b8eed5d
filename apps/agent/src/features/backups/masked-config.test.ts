import { describe, expect, it } from 'vitest';
import { maskedConfig } from './masked-config.js';

describe('maskedConfig', () => {
  it('keeps secret references and drops their values, everywhere', () => {
    const config = {
      version: '26.4.7',
      bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin', value: 'hunter2' } },
      list: [{ $secret: 's', value: 'v' }],
    };
    const masked = maskedConfig(config);
    expect(masked).toEqual({ version: '26.4.7', bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } }, list: [{ $secret: 's' }] });
    expect(JSON.stringify(masked)).not.toMatch(/hunter2|"v"/);
  });
});
