/** Log levels by rank (pino's numbers), so "warn and worse" is one comparison. */
export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

export type LogLevelName = keyof typeof LOG_LEVELS;

export const LOG_LEVEL_NAMES = Object.keys(LOG_LEVELS) as [LogLevelName, ...LogLevelName[]];
