import { parseSeriesKey } from '@keyfleet/proto/v1';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * The samples of a Prometheus text exposition (what Keycloak's management /metrics serves).
 * Comments, timestamps and lines it cannot read are skipped: one odd line must not cost the rest.
 */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const close = line.lastIndexOf('}');
    const split = close >= 0 ? close + 1 : line.indexOf(' ');
    if (split <= 0) continue;
    const series = parseSeriesKey(line.slice(0, split).trim());
    const valueText = line.slice(split).trim().split(/\s+/)[0];
    if (!series || valueText === undefined) continue;
    const value = valueText === '+Inf' ? Number.POSITIVE_INFINITY : valueText === '-Inf' ? Number.NEGATIVE_INFINITY : Number(valueText);
    if (Number.isNaN(value) && valueText !== 'NaN') continue;
    out.push({ name: series.name, labels: series.labels, value });
  }
  return out;
}
