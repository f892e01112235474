import pino, { Logger, LoggerOptions } from 'pino';

export type { Logger };

/**
 * Secrets a logged object may carry (a cluster's sasl/ssl, a registry's basic auth), masked whatever bound
 * them. Config code never logs them on purpose; this catches the accident.
 */
const SECRET_PATHS = ['password', 'passphrase', 'basicAuth', 'ssl.key'].flatMap((field) => [field, `*.${field}`, `*.*.${field}`, `*.*.*.${field}`]);

/**
 * One pino JSON logger for the whole process. Level comes from WAL_LOG_LEVEL (or LOG_LEVEL);
 * WAL_LOG_PRETTY=1 asks for pino-pretty on a terminal. Library code takes a child logger with
 * bindings (namespace, partition, …) rather than creating its own. `destination` (default stdout) lets a
 * test read what was written.
 */
export function createLogger(bindings: Record<string, unknown> = {}, options: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  const level = process.env.WAL_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info';
  const pretty = process.env.WAL_LOG_PRETTY === '1' && process.stdout.isTTY;
  const settings: LoggerOptions = {
    level,
    base: { service: 'wal', ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: SECRET_PATHS, censor: '***' },
    ...(pretty && !destination ? { transport: { target: 'pino-pretty' } } : {}),
    ...options,
  };
  return destination ? pino(settings, destination) : pino(settings);
}

let root: Logger | undefined;

/** The process-wide root logger, created on first use. */
export function rootLogger(): Logger {
  root ??= createLogger();
  return root;
}
