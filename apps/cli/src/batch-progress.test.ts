import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BatchProgress } from './batch-progress.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const out = Object.assign(
    new Writable({
      write(c, _e, cb) {
        chunks.push(String(c));
        cb();
      },
    }),
    { isTTY },
  );
  return { out, text: () => chunks.join('') };
}

describe('BatchProgress', () => {
  it('prints one plain line per change when not a TTY', () => {
    const { out, text } = sink(false);
    const p = new BatchProgress(out, ['h_a', 'h_b']);
    p.update('h_a', { state: 'running' });
    p.update('h_a', { state: 'running' });
    p.update('h_a', { percent: 50, message: 'half' });
    p.update('h_b', { state: 'failed', message: 'boom' });
    p.stop();
    expect(text()).toBe('h_a  running\nh_a  running 50% half\nh_b  failed boom\n');
  });

  it('redraws the block in place on a TTY', () => {
    const { out, text } = sink(true);
    const p = new BatchProgress(out, ['h_a']);
    p.update('h_a', { state: 'succeeded' });
    p.stop();
    expect(text()).toContain('\x1b[1F');
    expect(text()).toContain('✔ h_a  succeeded');
  });
});
