import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Output } from './output.js';

function sink() {
  const chunks: string[] = [];
  return {
    out: new Writable({
      write(c, _e, cb) {
        chunks.push(String(c));
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

describe('Output', () => {
  it('aligns a table and marks empty cells', () => {
    const { out, text } = sink();
    new Output('table', out).table(
      [],
      [
        { id: 'h_1', labels: { env: 'prod' } },
        { id: 'h_long', labels: {} },
      ],
      [
        ['ID', (r) => r.id],
        ['LABELS', (r) => r.labels],
      ],
    );
    expect(text()).toBe('ID      LABELS\nh_1     {"env":"prod"}\nh_long  -\n');
  });

  it('prints the raw value as JSON in json mode', () => {
    const { out, text } = sink();
    new Output('json', out).table({ items: [1] }, [1], [['X', (r) => r]]);
    expect(JSON.parse(text())).toEqual({ items: [1] });
  });
});
