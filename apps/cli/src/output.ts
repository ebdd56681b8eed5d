export type OutputFormat = 'table' | 'json';

/** Prints machine output (`--output json`) or an aligned table for people. */
export class Output {
  constructor(
    readonly format: OutputFormat,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  json(value: unknown): void {
    this.out.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** `value` in json mode, the table otherwise. */
  table<T>(value: unknown, rows: T[], columns: Array<[header: string, cell: (row: T) => unknown]>): void {
    if (this.format === 'json') {
      this.json(value);
      return;
    }
    const cells = rows.map((r) => columns.map(([, f]) => text(f(r))));
    const headers = columns.map(([h]) => h);
    const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const line = (vals: string[]) =>
      vals
        .map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd();
    this.out.write(`${line(headers)}\n`);
    for (const c of cells) this.out.write(`${line(c)}\n`);
    if (!rows.length) this.out.write('(none)\n');
  }

  /** Key/value details for one object, or the object as JSON. */
  details(value: unknown, fields: Array<[label: string, v: unknown]>): void {
    if (this.format === 'json') {
      this.json(value);
      return;
    }
    const width = Math.max(...fields.map(([l]) => l.length));
    for (const [label, v] of fields) this.out.write(`${`${label}:`.padEnd(width + 2)}${text(v)}\n`);
  }

  line(message: string): void {
    if (this.format !== 'json') this.out.write(`${message}\n`);
  }
}

function text(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (typeof v === 'object') return Object.keys(v).length ? JSON.stringify(v) : '-';
  return String(v);
}
