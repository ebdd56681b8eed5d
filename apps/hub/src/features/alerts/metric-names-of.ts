import type { MetricCondition } from './fact-observations.js';

/** The metric names a condition reads, so a query loads those series and not whole samples. */
export function metricNamesOf(condition: MetricCondition): string[] {
  if (condition.kind === 'threshold') return condition.divideBy ? [condition.metric, condition.divideBy] : [condition.metric];
  return [...new Set([condition.numerator, ...condition.denominator])];
}
