export interface LogEntry {
  id: string;
  at: string;
  source: string;
  level: string;
  line: string;
}

const COLOURS: Record<string, string> = { warn: '\x1b[33m', error: '\x1b[31m', fatal: '\x1b[31;1m' };

/** One entry as one line: time, level, source, text; the level coloured only for a terminal, so pipes get plain text. */
export function logLineText(e: LogEntry, tty: boolean): string {
  const level = e.level.toUpperCase().padEnd(5);
  const colour = tty ? COLOURS[e.level] : undefined;
  return `${e.at} ${colour ? `${colour}${level}\x1b[0m` : level} ${e.source.padEnd(8)} ${e.line}`;
}
