import { readFile } from 'node:fs/promises';
import { seriesKey } from '@keyfleet/proto/v1';
import { HeartbeatCollector } from '../../heartbeat.js';

/** Virtual interfaces that only double-count what the real ones carry. */
const SKIP_INTERFACE = /^(lo|veth|docker|br-|virbr|cni|flannel|cali)/;

/**
 * Host series: CPU, load, memory, disk per mount, network per interface, open files. Only /proc
 * reads and statfs (the heartbeat's collector): no child process per sample.
 */
export class HostMetrics {
  private readonly heartbeat: HeartbeatCollector;

  constructor(private readonly opts: { procDir?: string; mountsFile?: string } = {}) {
    this.heartbeat = new HeartbeatCollector(opts.mountsFile ? { mountsFile: opts.mountsFile } : {});
  }

  async collect(): Promise<Record<string, number>> {
    const hb = await this.heartbeat.collect(0);
    const series: Record<string, number> = {
      kf_host_uptime_seconds: hb.uptimeSec,
      kf_host_cpu_percent: hb.cpuPercent,
      kf_host_load1: hb.load[0],
      kf_host_load5: hb.load[1],
      kf_host_load15: hb.load[2],
      kf_host_memory_total_bytes: hb.memory.totalBytes,
      kf_host_memory_used_bytes: hb.memory.usedBytes,
    };
    for (const d of hb.disks) {
      series[seriesKey('kf_host_disk_size_bytes', { mount: d.mount })] = d.sizeBytes;
      series[seriesKey('kf_host_disk_used_bytes', { mount: d.mount })] = d.usedBytes;
    }
    const proc = this.opts.procDir ?? '/proc';
    Object.assign(series, parseNetDev(await readFile(`${proc}/net/dev`, 'utf8').catch(() => '')));
    // file-nr: allocated, unused (always 0 since 2.6), max.
    const fileNr = (await readFile(`${proc}/sys/fs/file-nr`, 'utf8').catch(() => '')).trim().split(/\s+/);
    if (fileNr.length === 3) {
      series.kf_host_open_files = Number(fileNr[0]);
      series.kf_host_open_files_max = Number(fileNr[2]);
    }
    return series;
  }
}

/** Receive and transmit byte counters per interface from /proc/net/dev. */
export function parseNetDev(text: string): Record<string, number> {
  const series: Record<string, number> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const device = line.slice(0, colon).trim();
    if (SKIP_INTERFACE.test(device)) continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (fields.length < 16) continue;
    series[seriesKey('kf_host_network_receive_bytes_total', { device })] = fields[0]!;
    series[seriesKey('kf_host_network_transmit_bytes_total', { device })] = fields[8]!;
  }
  return series;
}
