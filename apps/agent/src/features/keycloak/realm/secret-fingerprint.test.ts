import { describe, expect, it } from 'vitest';
import { fingerprintMatches, fingerprintSecret } from './secret-fingerprint.js';

describe('secret fingerprints', () => {
  it('match their own secret only, are salted and do not contain the secret', () => {
    const fp = fingerprintSecret('correct horse');
    expect(fingerprintMatches('correct horse', fp)).toBe(true);
    expect(fingerprintMatches('correct horse!', fp)).toBe(false);
    expect(fingerprintSecret('correct horse')).not.toBe(fp);
    expect(fp).not.toContain('correct');
  });

  it('never match a missing or malformed fingerprint', () => {
    expect(fingerprintMatches('x', undefined)).toBe(false);
    expect(fingerprintMatches('x', 'sha256$abc')).toBe(false);
    expect(fingerprintMatches('x', 'scrypt$c2FsdA$dG9vc2hvcnQ')).toBe(false);
  });
});
