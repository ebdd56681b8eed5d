import { describe, expect, it } from 'vitest';
import { mapSecretRefs } from './map-secret-refs.js';

describe('mapSecretRefs', () => {
  it('replaces each reference and copies everything else, leaving the input untouched', () => {
    const input = { a: [{ $secret: 'one' }, 2, 'x'], b: { c: { $secret: 'two', value: 'old' } }, d: null };
    const out = mapSecretRefs(input, (ref) => ({ $secret: ref.$secret, value: `v-${ref.$secret}` }));
    expect(out).toEqual({ a: [{ $secret: 'one', value: 'v-one' }, 2, 'x'], b: { c: { $secret: 'two', value: 'v-two' } }, d: null });
    expect(input.a[0]).toEqual({ $secret: 'one' });
    expect(mapSecretRefs(input, (ref) => ({ $secret: ref.$secret }))).toEqual({ a: [{ $secret: 'one' }, 2, 'x'], b: { c: { $secret: 'two' } }, d: null });
  });
});
