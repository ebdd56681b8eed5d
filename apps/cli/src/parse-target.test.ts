import { describe, expect, it } from 'vitest';
import { parseTarget } from './parse-target.js';

describe('parseTarget', () => {
  it('reads the three target forms', () => {
    expect(parseTarget('all')).toEqual({ all: true });
    expect(parseTarget('h_0123456789abcdef')).toEqual({ hostId: 'h_0123456789abcdef' });
    expect(parseTarget('env=prod,role=kc')).toEqual({ selector: 'env=prod,role=kc' });
  });
  it('rejects malformed ones with a reason', () => {
    expect(() => parseTarget('env=')).toThrow(/bad label selector/);
    expect(() => parseTarget('a=b=c')).toThrow(/bad label selector/);
    expect(() => parseTarget('Bad Host!')).toThrow(/bad target/);
  });
});
