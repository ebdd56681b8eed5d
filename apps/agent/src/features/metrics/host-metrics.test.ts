import { describe, expect, it } from 'vitest';
import { HostMetrics, parseNetDev } from './host-metrics.js';

describe('host metrics', () => {
  it('reads byte counters per real interface from /proc/net/dev', () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0
  eth0: 123456 10 0 0 0 0 0 0 654321 9 0 0 0 0 0 0
vethab12: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0
`;
    expect(parseNetDev(text)).toEqual({
      'kf_host_network_receive_bytes_total{device="eth0"}': 123456,
      'kf_host_network_transmit_bytes_total{device="eth0"}': 654321,
    });
  });

  it('samples this machine: CPU, memory, disks, open files', async () => {
    const s = await new HostMetrics().collect();
    expect(s.kf_host_memory_total_bytes).toBeGreaterThan(0);
    expect(s.kf_host_open_files).toBeGreaterThan(0);
    expect(Object.keys(s).some((k) => k.startsWith('kf_host_disk_used_bytes{mount='))).toBe(true);
  });
});
