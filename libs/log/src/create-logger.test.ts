import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './create-logger.js';

describe('createLogger', () => {
  it('redacts secret fields at any of the first three levels', async () => {
    const lines: string[] = [];
    const dest = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger('t', { destination: dest });
    log.info({ token: 'kf_secret1', nested: { password: 'hunter2', deeper: { seed: 'SUAXXX' } } }, 'hello');
    const out = lines.join('');
    expect(out).toContain('hello');
    expect(out).not.toContain('kf_secret1');
    expect(out).not.toContain('hunter2');
    expect(out).not.toContain('SUAXXX');
    expect(out).toContain('[redacted]');
  });
});
