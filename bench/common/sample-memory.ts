import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';

/** One reading of a process's memory, in MB (MiB). */
export interface MemoryReading {
  /** VmRSS: every resident page, shared file pages (the node binary) included. */
  rss: number;
  /** RssAnon: resident private anonymous memory (JS heap, malloc, WebAssembly memory). */
  anon: number;
  /** RssFile: resident file pages, mostly the node binary: shared and reclaimable. */
  file: number;
  /** VmSwap: anonymous memory swapped out; still the process's own. */
  swap: number;
  /** RssAnon + VmSwap: what this process alone costs the machine. */
  private: number;
  /** Pss from smaps_rollup: RSS with each shared page divided among the processes mapping it. */
  pss: number;
}

const TICKS_PER_SEC = 100; // USER_HZ on Linux
const mb = (kb: number) => kb / 1024;

/** Reads /proc/<pid>/status and /proc/<pid>/smaps_rollup. */
export async function readMemory(pid: number): Promise<MemoryReading> {
  const [status, rollup] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/smaps_rollup`, 'utf8')]);
  const kb = (text: string, key: string) => Number(text.match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'))?.[1] ?? 0);
  const anon = mb(kb(status, 'RssAnon'));
  const swap = mb(kb(status, 'VmSwap'));
  return { rss: mb(kb(status, 'VmRSS')), anon, file: mb(kb(status, 'RssFile')), swap, private: anon + swap, pss: mb(kb(rollup, 'Pss')) };
}

async function cpuTicks(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Samples a process once a second for `seconds` after `settleMs` and returns one line:
 * RSS (avg, max), its split, private memory (RssAnon + swap), PSS, CPU and the load average
 * at the end (the machine is shared; the load says how much to trust the CPU figure).
 */
export async function sampleMemory(pid: number, seconds: number, settleMs = 5000): Promise<string> {
  await new Promise((r) => setTimeout(r, settleMs));
  const samples: MemoryReading[] = [];
  const ticks0 = await cpuTicks(pid);
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    samples.push(await readMemory(pid));
    await new Promise((r) => setTimeout(r, 1000));
  }
  const cpuPct = (((await cpuTicks(pid)) - ticks0) / TICKS_PER_SEC / ((Date.now() - t0) / 1000)) * 100;
  const avg = (k: keyof MemoryReading) => (samples.reduce((a, s) => a + s[k], 0) / samples.length).toFixed(1);
  const max = (k: keyof MemoryReading) => Math.max(...samples.map((s) => s[k])).toFixed(1);
  return (
    `RSS avg=${avg('rss')} MB max=${max('rss')} MB (anon ${avg('anon')} + file ${avg('file')}); ` +
    `private=${avg('private')} MB (swap ${avg('swap')}); PSS=${avg('pss')} MB; CPU=${cpuPct.toFixed(2)} %; load ${loadavg()[0]!.toFixed(1)}`
  );
}
