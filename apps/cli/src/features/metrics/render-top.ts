import type { HostTopRow } from './host-top-row.js';

const fixed = (v: number | undefined, digits: number, unit = '') => (v === undefined || !Number.isFinite(v) ? '-' : `${v.toFixed(digits)}${unit}`);

const COLUMNS: Array<[header: string, cell: (r: HostTopRow) => string]> = [
  ['HOST', (r) => r.hostname],
  ['STATUS', (r) => r.status],
  ['CPU', (r) => fixed(r.cpuPercent, 0, '%')],
  ['MEM', (r) => fixed(r.memoryPercent, 0, '%')],
  ['DISK', (r) => fixed(r.diskPercent, 0, '%')],
  ['LOGINS/MIN', (r) => fixed(r.loginsPerMin, 1)],
  ['FAILS/MIN', (r) => fixed(r.failuresPerMin, 1)],
  ['P95', (r) => fixed(r.p95Ms, 0, 'ms')],
  ['CERT', (r) => fixed(r.certDaysLeft === undefined ? undefined : Math.floor(r.certDaysLeft), 0, 'd')],
  [
    'BACKUP AGE',
    (r) => (r.backupAgeHours === undefined ? '-' : r.backupAgeHours < 48 ? `${r.backupAgeHours.toFixed(1)}h` : `${(r.backupAgeHours / 24).toFixed(0)}d`),
  ],
];

/** The `hosts top` table as lines: text left-aligned, figures right-aligned so they line up. */
export function renderTop(rows: HostTopRow[]): string[] {
  const cells = rows.map((r) => COLUMNS.map(([, f]) => f(r)));
  const widths = COLUMNS.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (i < 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(COLUMNS.map(([h]) => h)), ...cells.map(line), ...(rows.length === 0 ? ['(no hosts)'] : [])];
}
