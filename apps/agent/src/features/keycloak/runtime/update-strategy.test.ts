import { describe, expect, it } from 'vitest';
import { updateStrategy } from './update-strategy.js';

describe('updateStrategy', () => {
  it('goes side by side on a shared database when Keycloak allows a rolling update or cannot tell', () => {
    expect(updateStrategy('rolling', 'external', 'instance')).toEqual({
      sideBySide: true,
      reason: 'side by side: new instance beside the old one, then switch',
    });
    expect(updateStrategy('unavailable', 'bundled', 'container').sideBySide).toBe(true);
  });

  it('stops first, and says why, for a dev-file database or when Keycloak asks for a recreate', () => {
    expect(updateStrategy('rolling', 'dev-file', 'instance')).toEqual({
      sideBySide: false,
      reason: 'recreate: a dev-file database cannot be shared, so the old instance stops first',
    });
    expect(updateStrategy('recreate', 'external', 'container')).toEqual({ sideBySide: false, reason: 'recreate: Keycloak needs the old container stopped' });
  });

  it('stops first for a new version when Keycloak cannot tell (no update-compatibility), side by side for a config change', () => {
    expect(updateStrategy('unavailable', 'external', 'instance', true)).toEqual({
      sideBySide: false,
      reason: 'recreate: a new version Keycloak cannot check may migrate the schema, so the old instance stops first',
    });
    expect(updateStrategy('unavailable', 'external', 'instance', false).sideBySide).toBe(true);
    expect(updateStrategy('rolling', 'bundled', 'container', true).sideBySide).toBe(true);
  });
});
