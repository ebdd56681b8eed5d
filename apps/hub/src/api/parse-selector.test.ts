import { describe, expect, it } from 'vitest';
import { parseSelector } from './parse-selector.js';

describe('parseSelector', () => {
  it('parses pairs, trimming spaces and allowing empty values', () => {
    expect(parseSelector('env=prod, region = eu-1,tier=')).toEqual({ env: 'prod', region: 'eu-1', tier: '' });
  });

  it.each(['', 'env', '=prod', 'env=prod,,x=1', 'bad key=1'])('rejects %j with a reason', (s) => {
    expect(() => parseSelector(s)).toThrow(/invalid selector/);
  });
});
