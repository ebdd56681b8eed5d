import type { LogLine } from '@keyfleet/proto/v1';

type Level = LogLine['level'];

const PINO: Record<string, Level> = { '10': 'trace', '20': 'debug', '30': 'info', '40': 'warn', '50': 'error', '60': 'fatal' };
const WORD: Record<string, Level> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  WARNING: 'warn',
  ERROR: 'error',
  FATAL: 'fatal',
  SEVERE: 'error',
};

/**
 * The level of a line of Keycloak's log (`2026-… WARN  [org.keycloak…]`) or of the agent's own
 * (pino JSON, `"level":40`); a line with none (a stack trace's continuation) counts as info.
 */
export function logLevelOf(line: string): Level {
  const pino = /"level":(\d\d)\b/.exec(line.slice(0, 200));
  if (pino) return PINO[pino[1]!] ?? 'info';
  // Keycloak names the level right after the time stamp: the start of the line is enough.
  const word = /\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE)\b/.exec(line.slice(0, 80));
  return word ? WORD[word[1]!]! : 'info';
}
