import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Field names whose values are secrets wherever they appear in a log object.
 * Redaction is by key, so callers must put secrets under one of these names
 * rather than interpolating them into messages.
 */
const SECRET_KEYS = ['token', 'password', 'secret', 'seed', 'jwt', 'authorization', 'creds', 'privateKey', 'clientSecret'];

const redactPaths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/** JSON logs to stderr (stdout stays free for command output); level from KEYFLEET_LOG_LEVEL. */
export function createLogger(name: string, opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      name,
      level: opts.level ?? process.env.KEYFLEET_LOG_LEVEL ?? 'info',
      redact: { paths: redactPaths, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    (opts.destination ?? pino.destination({ fd: 2, sync: false })) as pino.DestinationStream,
  );
}
