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

  it('not a TTY: a transfer’s bytes and throughput as plain lines, at most every plainEveryMs unless something else changes', () => {
    const { out, text } = sink(false);
    let now = 0;
    const MiB = 1024 ** 2;
    const p = new BatchProgress(out, ['h_a'], { plainEveryMs: 5_000, now: () => now });
    p.update('h_a', { state: 'running' });
    p.update('h_a', { percent: 5, message: 'dumping the database', transfer: { bytes: 0 }, at: 0 });
    for (let s = 1; s <= 6; s++) {
      now = s * 1000;
      p.update('h_a', { message: 'dumping the database', transfer: { bytes: s * 10 * MiB }, at: now });
    }
    now = 6_500;
    p.update('h_a', { percent: 90, message: 'database dumped', transfer: { bytes: 64 * MiB, totalBytes: 64 * MiB }, at: now });
    p.update('h_a', { percent: 95, message: 'uploading', transfer: null });
    p.update('h_a', { state: 'succeeded' });
    p.stop();
    expect(text().split('\n')).toEqual([
      'h_a  running',
      'h_a  running 0 B dumping the database',
      'h_a  running 50.0 MiB  10.0 MiB/s dumping the database',
      'h_a  running 100%  64.0 MiB / 64.0 MiB  9.8 MiB/s database dumped',
      'h_a  running 95% uploading',
      'h_a  succeeded 95% uploading',
      '',
    ]);
  });

  it('on a TTY: a bar with bytes and throughput in the redrawn block', () => {
    const { out, text } = sink(true);
    const MiB = 1024 ** 2;
    const p = new BatchProgress(out, ['h_a']);
    p.update('h_a', { state: 'running', transfer: { bytes: 0, totalBytes: 100 * MiB }, at: 0 });
    p.update('h_a', { message: 'restoring the database', transfer: { bytes: 50 * MiB, totalBytes: 100 * MiB }, at: 2_000 });
    p.stop();
    expect(text()).toContain('h_a  running [████████████░░░░░░░░░░░░]   50%  50.0 MiB / 100.0 MiB  25.0 MiB/s restoring the database');
  });
});
