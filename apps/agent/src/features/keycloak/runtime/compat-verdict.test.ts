import { describe, expect, it } from 'vitest';
import { compatVerdict } from './compat-verdict.js';

describe('compatVerdict', () => {
  it('reads 0 as a possible rolling update and 3 as recreate', () => {
    expect(compatVerdict('check', 0, '[OK] Rolling Update is available.')).toBe('rolling');
    expect(compatVerdict('check', 3, '[Warning] Rolling Update is not available.')).toBe('recreate');
  });

  it('says unavailable when this Keycloak has no update-compatibility command', () => {
    expect(compatVerdict('metadata', 2, "Unknown option or command: 'update-compatibility'\nUnmatched argument at index 0")).toBe('unavailable');
  });

  it('fails with the reason on a config the new Keycloak rejects', () => {
    expect(() => compatVerdict('check', 2, "'nosuchfeature' is an unrecognized feature, it should be one of [account]")).toThrow(
      /update-compatibility check failed \(exit 2\):\n'nosuchfeature' is an unrecognized feature/,
    );
  });
});
