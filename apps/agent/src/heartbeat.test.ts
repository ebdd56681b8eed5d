import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decode, encode, heartbeat } from '@keyfleet/proto/v1';
import { HeartbeatCollector } from './heartbeat.js';

describe('HeartbeatCollector', () => {
  it('reports sane host values that fit the heartbeat message', async () => {
    const collector = new HeartbeatCollector();
    const end = Date.now() + 300;
    while (Date.now() < end); // keep one core busy so CPU use is measurably above zero
    const hb = await collector.collect(3);
    expect(hb.cpuPercent).toBeGreaterThan(0);
    expect(hb.cpuPercent).toBeLessThanOrEqual(100);
    expect(hb.memory.totalBytes).toBe(totalmem());
    expect(hb.memory.usedBytes).toBeGreaterThan(0);
    expect(hb.memory.usedBytes).toBeLessThan(hb.memory.totalBytes);
    expect(hb.load).toHaveLength(3);
    expect(hb.load[0]).toBeCloseTo(loadavg()[0]!, 0);
    expect(hb.uptimeSec).toBeGreaterThan(0);
    expect(hb.runningTasks).toBe(3);
    const root = hb.disks.find((d) => d.mount === '/');
    expect(root, `disks: ${JSON.stringify(hb.disks)}`).toBeDefined();
    expect(root!.sizeBytes).toBeGreaterThan(root!.usedBytes);
    expect(root!.usedBytes).toBeGreaterThan(0);
    const wire = decode(heartbeat, encode(heartbeat, { kind: 'heartbeat', hostId: 'h-test', ...hb }));
    expect(wire.disks).toEqual(hb.disks);
  });

  it('reads only data filesystems from the mount table, once per device, unescaping paths', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kf-mounts-'));
    try {
      const spaced = join(dir, 'with space');
      await mkdir(spaced);
      const mounts = [
        'proc /proc proc rw 0 0',
        'tmpfs /dev/shm tmpfs rw 0 0',
        'cgroup2 /sys/fs/cgroup cgroup2 rw 0 0',
        `/dev/sdz1 ${spaced.replace(/ /g, '\\040')} ext4 rw 0 0`,
        `/dev/sdz1 ${dir} ext4 rw,bind 0 0`,
        'nfs.example:/export /definitely/not/mounted nfs4 rw 0 0',
      ].join('\n');
      const file = join(dir, 'mounts');
      await writeFile(file, mounts);
      const hb = await new HeartbeatCollector({ mountsFile: file }).collect(0);
      // The NFS path cannot be statfs'd here, so it is left out rather than reported as zero.
      expect(hb.disks.map((d) => d.mount)).toEqual([spaced]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
