import { Kafka, logCreator } from 'kafkajs';
import type { ClusterConfig } from './cluster';
import { kafkaClientId, kafkaLogCreator, kafkaLogLevel, kafkaSecurity } from './client';
import type { Logger } from '../observability/logger';

const BOUNDED_RETRIES_WARNING = 'Limiting retries for the idempotent producer';

/**
 * Drops kafkajs' warning about bounded idempotent retries: bounding them is the point here (every
 * write has a deadline) and a retry the producer gives up on is left to ids, which dedupe downstream.
 */
function quietLogCreator(inner: logCreator): logCreator {
  return (level) => {
    const log = inner(level);
    return (entry) => {
      if (!entry.log.message?.startsWith(BOUNDED_RETRIES_WARNING)) log(entry);
    };
  };
}

/**
 * A kafkajs client for the writer. Unlike the long-running clients of src/kafka, its connection and
 * retry budgets are sized to the caller's timeout: kafkajs' defaults (5 retries up to 30 s, 15 under
 * NODE_ENV=test) would keep reconnecting long after the caller was answered.
 */
export function createWriterKafkaClient(cluster: ClusterConfig, clientId: string, timeoutMs: number, logger: Logger): Kafka {
  return new Kafka({
    clientId: kafkaClientId(cluster, clientId),
    brokers: [...cluster.brokers],
    ...kafkaSecurity(cluster),
    connectionTimeout: Math.min(3000, Math.max(500, Math.floor(timeoutMs / 4))),
    requestTimeout: timeoutMs + 1000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: Math.max(500, Math.floor(timeoutMs / 4)) },
    logLevel: kafkaLogLevel(),
    logCreator: quietLogCreator(kafkaLogCreator(logger.child({ cluster: cluster.name }))),
  });
}
