import { describe, expect, it } from 'vitest';
import { compareVersions } from './compare-versions.js';

describe('compareVersions', () => {
  it('orders by semver precedence', () => {
    const sorted = ['1.0.0', '0.2.0', '1.0.0-rc.1', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '0.10.0', 'garbage', '1.0.0-rc.10'].sort(
      compareVersions,
    );
    expect(sorted).toEqual(['garbage', '0.2.0', '0.10.0', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-rc.1', '1.0.0-rc.10', '1.0.0']);
  });

  it('ignores build metadata', () => {
    expect(compareVersions('1.2.3+a', '1.2.3+b')).toBe(0);
  });
});
