import { Kafka, logLevel, type LogEntry, type logCreator } from 'kafkajs';
import type { ClusterConfig } from './cluster';
import { createLogger, type Logger } from '../observability/logger';

/**
 * kafkajs clients for a configured cluster, logging through pino. kafkajs is chatty at INFO (every group join,
 * every connection), so its own level defaults to WARN; WAL_KAFKA_LOG_LEVEL=info|debug opens it up.
 */

const PINO_LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

const KAFKA_LEVEL: Record<string, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/** kafkajs' own level: $WAL_KAFKA_LOG_LEVEL (nothing, error, warn, info, debug), WARN by default. */
export function kafkaLogLevel(): logLevel {
  return KAFKA_LEVEL[(process.env.WAL_KAFKA_LOG_LEVEL ?? 'warn').toLowerCase()] ?? logLevel.WARN;
}

export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const method = PINO_LEVEL[level] ?? 'info';
      logger[method]({ kafkajs: namespace, ...extra }, message);
    };
}

/** A kafkajs client for `cluster`; the cluster's own clientId (if any) prefixes `clientId`. */
export function createKafkaClient(cluster: ClusterConfig, clientId: string): Kafka {
  const logger = createLogger({ component: 'kafkajs', cluster: cluster.name, clientId });
  return new Kafka({
    clientId: cluster.clientId ? `${cluster.clientId}.${clientId}` : clientId,
    brokers: [...cluster.brokers],
    logLevel: kafkaLogLevel(),
    logCreator: kafkaLogCreator(logger),
  });
}
