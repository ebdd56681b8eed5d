import { describe, expect, it } from 'vitest';
import { parseSeriesKey, seriesKey } from './series-key.js';

describe('seriesKey', () => {
  it('sorts labels and round-trips escapes', () => {
    const key = seriesKey('kf_host_disk_used_bytes', { mount: '/srv/"a"\\b\nc', dev: 'sda' });
    expect(key).toBe('kf_host_disk_used_bytes{dev="sda",mount="/srv/\\"a\\"\\\\b\\nc"}');
    expect(parseSeriesKey(key)).toEqual({ name: 'kf_host_disk_used_bytes', labels: { dev: 'sda', mount: '/srv/"a"\\b\nc' } });
  });

  it('takes a bare name and refuses what it did not build', () => {
    expect(parseSeriesKey('kf_host_cpu_percent')).toEqual({ name: 'kf_host_cpu_percent', labels: {} });
    expect(parseSeriesKey('bad name')).toBeUndefined();
    expect(parseSeriesKey('x{a="1"')).toBeUndefined();
    expect(parseSeriesKey('x{a="1}')).toBeUndefined();
  });
});
