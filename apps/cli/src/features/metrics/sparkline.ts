const BARS = '▁▂▃▄▅▆▇█';

/** Values as one line of block characters, scaled between their own min and max. */
export function sparkline(values: number[], width = 60): string {
  if (values.length === 0) return '';
  // More points than columns: each column shows the mean of its share of points.
  const cols = Math.min(width, values.length);
  const per = values.length / cols;
  const shown = Array.from({ length: cols }, (_, i) => {
    const part = values.slice(Math.floor(i * per), Math.max(Math.floor((i + 1) * per), Math.floor(i * per) + 1));
    return part.reduce((a, v) => a + v, 0) / part.length;
  });
  const min = Math.min(...shown);
  const max = Math.max(...shown);
  const span = max - min;
  return shown.map((v) => BARS[span > 0 ? Math.round(((v - min) / span) * (BARS.length - 1)) : 0]).join('');
}
