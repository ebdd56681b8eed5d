import { readFile, statfs } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem, uptime } from 'node:os';
import type { Heartbeat } from '@keyfleet/proto/v1';

export type HeartbeatBody = Pick<Heartbeat, 'uptimeSec' | 'cpuPercent' | 'load' | 'memory' | 'disks' | 'runningTasks'>;

/** Filesystems that hold data; everything else in /proc/mounts (proc, tmpfs, cgroup, ...) is noise. */
const DATA_FILESYSTEMS = new Set([
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'zfs',
  'f2fs',
  'jfs',
  'reiserfs',
  'vfat',
  'exfat',
  'ntfs',
  'ntfs3',
  'fuseblk',
  'nfs',
  'nfs4',
  'cifs',
  'smb3',
  'ceph',
  'fuse.glusterfs',
]);
const MAX_DISKS = 256;

type Disk = Heartbeat['disks'][number];

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const { times } of cpus()) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, total };
}

/** /proc/mounts escapes space, tab, newline and backslash as octal (`\040`). */
const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/**
 * Collects the cheap host metrics a heartbeat carries: no child processes, only
 * /proc reads, os.* calls and one statfs per data filesystem.
 */
export class HeartbeatCollector {
  private lastCpu = cpuTimes();
  /** statfs on a dead NFS server never returns; such mounts are skipped until the pending call ends. */
  private readonly pendingStatfs = new Set<string>();

  constructor(private readonly opts: { mountsFile?: string; statfsTimeoutMs?: number } = {}) {}

  async collect(runningTasks: number): Promise<HeartbeatBody> {
    const now = cpuTimes();
    const total = now.total - this.lastCpu.total;
    const busy = total - (now.idle - this.lastCpu.idle);
    this.lastCpu = now;
    const cpuPercent = total > 0 ? Math.min(100, Math.max(0, Math.round((busy / total) * 1000) / 10)) : 0;
    const [l1, l5, l15] = loadavg();
    const totalBytes = totalmem();
    return {
      uptimeSec: Math.round(uptime()),
      cpuPercent,
      load: [l1 ?? 0, l5 ?? 0, l15 ?? 0],
      memory: { totalBytes, usedBytes: Math.max(0, totalBytes - freemem()) },
      disks: await this.disks(),
      runningTasks,
    };
  }

  private async disks(): Promise<Disk[]> {
    let text: string;
    try {
      text = await readFile(this.opts.mountsFile ?? '/proc/mounts', 'utf8');
    } catch {
      return []; // not Linux: disks are left to the system.info task
    }
    const devices = new Set<string>();
    const mounts: string[] = [];
    for (const line of text.split('\n')) {
      const [device, rawMount, type] = line.split(' ');
      if (!device || !rawMount || !type) continue;
      const mount = unescapeMount(rawMount);
      // A container's root is an overlay; it is still the disk the agent writes to.
      if (!DATA_FILESYSTEMS.has(type) && !(type === 'overlay' && mount === '/')) continue;
      // Bind mounts repeat a device; count its space once.
      if (devices.has(device)) continue;
      devices.add(device);
      mounts.push(mount);
    }
    const disks = await Promise.all(mounts.slice(0, MAX_DISKS).map((m) => this.statfsWithin(m)));
    return disks.filter((d) => d !== undefined);
  }

  private statfsWithin(mount: string): Promise<Disk | undefined> {
    if (this.pendingStatfs.has(mount)) return Promise.resolve(undefined);
    this.pendingStatfs.add(mount);
    const call = statfs(mount).then(
      (s): Disk => ({ mount, sizeBytes: s.blocks * s.bsize, usedBytes: Math.max(0, s.blocks - s.bfree) * s.bsize }),
      () => undefined,
    );
    void call.finally(() => this.pendingStatfs.delete(mount));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, this.opts.statfsTimeoutMs ?? 2_000, undefined);
    });
    return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
  }
}
