import { Kafka, logLevel, type KafkaConfig, type LogEntry, type logCreator, type SASLOptions } from 'kafkajs';
import type { ClusterConfig } from './cluster';
import { explainConnectError } from './errors';
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

/**
 * The kafkajs `ssl` and `sasl` settings of a cluster: every client wal makes for it (engine, writer, targets,
 * mirror links, CLI) spreads these, so none connects with weaker settings than another.
 */
export function kafkaSecurity(cluster: Pick<ClusterConfig, 'ssl' | 'sasl'>): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const { ssl, sasl } = cluster;
  return {
    ...(ssl
      ? {
          ssl: {
            rejectUnauthorized: ssl.rejectUnauthorized,
            ...(ssl.ca !== undefined ? { ca: ssl.ca } : {}),
            ...(ssl.cert !== undefined ? { cert: ssl.cert } : {}),
            ...(ssl.key !== undefined ? { key: ssl.key } : {}),
            ...(ssl.passphrase !== undefined ? { passphrase: ssl.passphrase } : {}),
          },
        }
      : {}),
    ...(sasl ? { sasl: { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions } : {}),
  };
}

/** The clientId wal announces: the cluster's own clientId (if any) prefixes the caller's. */
export function kafkaClientId(cluster: Pick<ClusterConfig, 'clientId'>, clientId: string): string {
  return cluster.clientId ? `${cluster.clientId}.${clientId}` : clientId;
}

/**
 * Makes every producer, consumer and admin of `kafka` fail `connect()` with what the failure means for this
 * cluster (a refused password, a TLS mismatch: see explainConnectError) rather than kafkajs' bare message.
 */
function explainingConnects(kafka: Kafka, cluster: ClusterConfig): Kafka {
  const explained = <T extends { connect(): Promise<void> }>(client: T): T => {
    const connect = client.connect.bind(client);
    client.connect = async () => {
      try {
        await connect();
      } catch (error) {
        throw (await explainConnectError(error, cluster)) ?? error;
      }
    };
    return client;
  };
  const [producer, consumer, admin] = [kafka.producer.bind(kafka), kafka.consumer.bind(kafka), kafka.admin.bind(kafka)];
  kafka.producer = (config) => explained(producer(config));
  kafka.consumer = (config) => explained(consumer(config));
  kafka.admin = (config) => explained(admin(config));
  return kafka;
}

/** A kafkajs client for `cluster`; the cluster's own clientId (if any) prefixes `clientId`. */
export function createKafkaClient(cluster: ClusterConfig, clientId: string): Kafka {
  const logger = createLogger({ component: 'kafkajs', cluster: cluster.name, clientId });
  const kafka = new Kafka({
    clientId: kafkaClientId(cluster, clientId),
    brokers: [...cluster.brokers],
    ...kafkaSecurity(cluster),
    logLevel: kafkaLogLevel(),
    logCreator: kafkaLogCreator(logger),
  });
  return explainingConnects(kafka, cluster);
}
