import { ApiError } from './api-error.js';

const KEY = /^[a-zA-Z0-9._/-]{1,63}$/;

/**
 * Parses a label selector `k=v,k2=v2` (every pair must match) into a label map.
 * Throws a 400 naming the bad pair.
 */
export function parseSelector(selector: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const raw of selector.split(',')) {
    const pair = raw.trim();
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    if (!KEY.test(key)) throw new ApiError(400, `invalid selector "${selector}": "${pair}" is not key=value (key: 1-63 of [a-zA-Z0-9._/-])`);
    labels[key] = pair.slice(eq + 1).trim();
  }
  return labels;
}
