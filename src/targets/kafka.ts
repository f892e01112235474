import { CompressionTypes, Kafka, logLevel, Message, Partitioners, Producer } from 'kafkajs';
import type { ClusterConfig, KafkaTargetConfig } from '../namespaces/types';
import { createLogger, Logger } from '../observability/logger';
import { kafkaSecurity } from '../kafka/client';
import { ClusterAccessError, explainConnectError } from '../kafka/errors';
import { MAX_REQUEST_BYTES, messageBytes, splitByBytes } from '../kafka/request-size';
import { KAFKA_TARGET_HEADERS } from '../wire/headers';
import { sendIsolatingFailures } from './batch';
import { causeChain, describeError, TargetConfigError } from './errors';
import { Delivery, DeliveryResult, failed, MutationDelivery, OK, Target } from './target';

export interface KafkaTargetOptions {
  /** How often kafkajs itself retries a retriable produce error before we answer "retriable". */
  retries?: number;
  requestTimeoutMs?: number;
}

/**
 * Produces to a topic with an idempotent producer (acks=all), one `send` per batch. kafkajs' own
 * retries are bounded so that a broker outage becomes a retriable result in seconds; the wal retry
 * processor owns the long backoff.
 */
export function createKafkaTarget(
  name: string,
  config: KafkaTargetConfig,
  cluster: ClusterConfig,
  options: KafkaTargetOptions = {},
): Target {
  if (!config.topic) throw new TargetConfigError(`target "${name}": kafka topic is empty`);
  const log = createLogger({ component: 'target', target: name, type: 'kafka' });
  const kafka = new Kafka({
    clientId: cluster.clientId ?? `wal-target-${name}`,
    brokers: cluster.brokers,
    ...kafkaSecurity(cluster),
    requestTimeout: options.requestTimeoutMs ?? 10000,
    connectionTimeout: 3000,
    // Bounds connect/metadata retries too, so an unreachable cluster answers within seconds.
    retry: { retries: options.retries ?? 3, initialRetryTime: 100, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(log),
  });
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: options.retries ?? 3, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  let connecting: Promise<void> | undefined;
  const connect = (): Promise<void> => {
    connecting ??= producer.connect().catch(async (error: unknown) => {
      connecting = undefined;
      throw (await explainConnectError(error, cluster)) ?? error;
    });
    return connecting;
  };

  // Large deliveries go out in requests of bounded size, in order (see MAX_REQUEST_BYTES).
  const send = async (messages: Message[]): Promise<void> => {
    await connect();
    for (const part of splitByBytes(messages, messageBytes, MAX_REQUEST_BYTES)) {
      await producer.send({ topic: config.topic, acks: -1, compression: CompressionTypes.None, messages: part });
    }
  };

  return {
    name,
    async deliver(batch: Delivery[]): Promise<DeliveryResult[]> {
      return sendIsolatingFailures(batch.map(toMessage), send, classifyKafkaError);
    },
    async applyMutations(chunk: MutationDelivery): Promise<DeliveryResult> {
      const messages: Message[] = chunk.mutations.map((m) => ({
        key: m.key,
        value: m.op === 'DELETE' ? null : (m.value ?? Buffer.alloc(0)),
        headers: {
          [KAFKA_TARGET_HEADERS.op]: m.op,
          [KAFKA_TARGET_HEADERS.sequence]: String(m.sequence),
          [KAFKA_TARGET_HEADERS.txnId]: chunk.txnId,
          [KAFKA_TARGET_HEADERS.chunkIndex]: String(chunk.chunkIndex),
        },
      }));
      // One send: all of a chunk's records land, or the chunk is retried whole (consumers dedupe on
      // key + sequence, so a partial first attempt replayed is harmless).
      try {
        await send(messages);
        return OK;
      } catch (error) {
        return classifyKafkaError(error);
      }
    },
    async close(): Promise<void> {
      if (connecting) {
        await connecting.catch(() => undefined);
        await producer.disconnect();
      }
    },
  };
}

/** The headers a delivery carries on a Kafka target: its own, plus its id and content type (KAFKA_TARGET_HEADERS). */
export function kafkaTargetHeaders(delivery: Delivery): Record<string, string> {
  const headers: Record<string, string> = { ...delivery.headers };
  headers[KAFKA_TARGET_HEADERS.id] = delivery.id;
  if (headers[KAFKA_TARGET_HEADERS.contentType] === undefined) headers[KAFKA_TARGET_HEADERS.contentType] = delivery.contentType;
  return headers;
}

function toMessage(delivery: Delivery): Message {
  return { key: delivery.key, value: delivery.payload, headers: kafkaTargetHeaders(delivery) };
}

const TRANSIENT_KAFKAJS_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSNumberOfRetriesExceeded',
]);

/**
 * A broker's protocol error says itself whether it is retriable (MESSAGE_TOO_LARGE, INVALID_RECORD,
 * authorization: no; NOT_LEADER, timeouts: yes). kafkajs wraps it once retries are exhausted, so
 * the innermost protocol error decides; network-level errors are retriable; a local programming
 * error (TypeError building the request) is permanent.
 */
export function classifyKafkaError(error: unknown): DeliveryResult {
  // The target cluster refused wal's password or TLS settings: no retry helps before the config changes.
  if (error instanceof ClusterAccessError) return failed(false, error.message);
  const chain = causeChain(error);
  const protocol = [...chain].reverse().find((e) => (e as { name?: string }).name === 'KafkaJSProtocolError') as
    | { retriable?: boolean; type?: string; message?: string }
    | undefined;
  const reason = describeError(chain[chain.length - 1] ?? error);
  if (protocol) return failed(protocol.retriable !== false, `${protocol.type ?? 'protocol error'}: ${reason}`);
  const names = chain.map((e) => (e as { name?: string }).name ?? '');
  if (names.some((n) => TRANSIENT_KAFKAJS_ERRORS.has(n))) return failed(true, reason);
  if (names.some((n) => ['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError'].includes(n))) return failed(false, reason);
  return failed((error as { retriable?: boolean }).retriable !== false, reason);
}

function kafkaLogCreator(log: Logger) {
  return () =>
    ({ level, log: entry }: { level: logLevel; log: { message: string } & Record<string, unknown> }): void => {
      const { message, ...rest } = entry;
      // Deliberate: retries are bounded so an outage reaches wal's own retry (which re-sends with the
      // same wal-id) instead of blocking a partition forever.
      if (message.startsWith('Limiting retries for the idempotent producer')) log.debug(rest, message);
      else if (level <= logLevel.ERROR) log.error(rest, message);
      else if (level === logLevel.WARN) log.warn(rest, message);
      else log.debug(rest, message);
    };
}
