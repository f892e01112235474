import pino, { Logger, LoggerOptions } from 'pino';

export type { Logger };

/**
 * One pino JSON logger for the whole process. Level comes from WAL_LOG_LEVEL (or LOG_LEVEL);
 * WAL_LOG_PRETTY=1 asks for pino-pretty on a terminal. Library code takes a child logger with
 * bindings (namespace, partition, …) rather than creating its own.
 */
export function createLogger(bindings: Record<string, unknown> = {}, options: LoggerOptions = {}): Logger {
  const level = process.env.WAL_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info';
  const pretty = process.env.WAL_LOG_PRETTY === '1' && process.stdout.isTTY;
  return pino({
    level,
    base: { service: 'wal', ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(pretty ? { transport: { target: 'pino-pretty' } } : {}),
    ...options,
  });
}

let root: Logger | undefined;

/** The process-wide root logger, created on first use. */
export function rootLogger(): Logger {
  root ??= createLogger();
  return root;
}
