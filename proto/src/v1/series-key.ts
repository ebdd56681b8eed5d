/**
 * How a metric sample names one series on the wire: the Prometheus text form of a name and its
 * labels, `kf_host_disk_used_bytes{mount="/"}`, labels sorted so one series has one key.
 */
export type SeriesLabels = Readonly<Record<string, string>>;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function seriesKey(name: string, labels: SeriesLabels = {}): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return name;
  return `${name}{${names.map((l) => `${l}="${escapeLabel(labels[l]!)}"`).join(',')}}`;
}

/** The inverse of `seriesKey`; undefined for a key it did not build. */
export function parseSeriesKey(key: string): { name: string; labels: Record<string, string> } | undefined {
  const brace = key.indexOf('{');
  if (brace < 0) return /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(key) ? { name: key, labels: {} } : undefined;
  const name = key.slice(0, brace);
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name) || !key.endsWith('}')) return undefined;
  const labels: Record<string, string> = {};
  const body = key.slice(brace + 1, -1);
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('="', i);
    if (eq < 0) return undefined;
    const label = body.slice(i, eq);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label)) return undefined;
    let j = eq + 2;
    let value = '';
    while (j < body.length && body[j] !== '"') {
      if (body[j] === '\\') {
        const next = body[j + 1];
        value += next === 'n' ? '\n' : (next ?? '');
        j += 2;
      } else {
        value += body[j];
        j += 1;
      }
    }
    if (j >= body.length) return undefined;
    labels[label] = value;
    i = j + 1;
    if (body[i] === ',') i += 1;
  }
  return { name, labels };
}
