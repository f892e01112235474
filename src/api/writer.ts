import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { ClusterConfig, NamespaceConfig, WalConfig } from '../namespaces/types';
import { createLogger, type Logger } from '../observability/logger';
import { InvalidRecordError, RegistryUnavailableError, SerdeError } from '../wire/errors';
import { createWriterKafkaClient } from '../kafka/writer-client';
import { BypassFollower, DEFAULT_STATE_REFRESH_MS } from './bypass';
import { bypassRefusals } from './metrics';
import { buildWriteRecord } from './request';
import type { SendOutcome } from './sender';
import { createKafkaIntake, DeadlineError, type KafkaIntake } from './kafka-intake';
import type { QueueIntake } from '../queues/intake';
import { createSqsIntake } from '../sqs/intake';
import type { WriteRequest, WriteResult } from './types';

export const DEFAULT_WRITE_TIMEOUT_MS = 10000;

export interface WalWriterOptions {
  readonly config: WalConfig;
  readonly clientId?: string;
  /** Hard bound on every write, registry and broker included (default 10 s). */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
  /** How kafkajs clients are made (default: createWriterKafkaClient, retries sized to timeoutMs). */
  readonly kafkaFactory?: (cluster: ClusterConfig, clientId: string) => Kafka;
  readonly now?: () => number;
  readonly newId?: () => string;
  /** How often the namespace state topics (`wal namespace bypass`) are read again (default 2 s). */
  readonly stateRefreshMs?: number;
  /**
   * Namespaces that change while the writer runs (the namespace registry, see registry/live-config):
   * asked at every write instead of `config`, and refreshed once before a namespace is called unknown.
   */
  readonly live?: LiveNamespaces;
  /** The intake of namespaces on an SQS queue (default: createSqsIntake, clients from the AWS SDK's usual chain). */
  readonly sqsIntake?: QueueIntake;
}

/** A configuration that follows the namespace registry. */
export interface LiveNamespaces {
  current(): WalConfig;
  refresh(timeoutMs: number): Promise<void>;
}

export interface WalWriter {
  /**
   * Never throws and never outlives `timeoutMs`: every outcome is a WriteResult. `context.logger`
   * (e.g. an HTTP request's, which carries its request id) logs this write's failure.
   */
  writeToLog(request: WriteRequest, context?: { logger?: Pick<Logger, 'warn'> }): Promise<WriteResult>;
  /** Per-item results in request order; items travel in shared broker batches. */
  writeBatch(requests: WriteRequest[]): Promise<WriteResult[]>;
  /** Connects the producers of every configured namespace's cluster; rejects if one cannot connect. */
  connect(): Promise<void>;
  /** True when every producer the config needs is connected. */
  isReady(): boolean;
  close(): Promise<void>;
}

/**
 * The WriteToLog library: validates a request against its namespace, registers the intake schema
 * (once per namespace), encodes the Avro record and sends it through one idempotent producer per
 * cluster, keyed by id so that a retry lands on the same partition.
 */
export function createWalWriter(options: WalWriterOptions): WalWriter {
  const { live } = options;
  const configNow = (): WalConfig => live?.current() ?? options.config;
  const timeoutMs = options.timeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
  const clientId = options.clientId ?? 'wal-writer';
  const logger = options.logger ?? createLogger({ component: 'writer' });
  const now = options.now ?? Date.now;
  const newId = options.newId ?? randomUUID;
  const kafkaFactory = options.kafkaFactory ?? ((cluster: ClusterConfig, id: string) => createWriterKafkaClient(cluster, id, timeoutMs, logger));
  // Half the write budget at most: a slow state topic must leave time for the write itself.
  const stateWaitMs = Math.min(5000, Math.max(250, Math.floor(timeoutMs / 2)));
  const bypass = new BypassFollower({
    kafka: (cluster) => kafkaFactory(cluster, `${clientId}-state`),
    refreshMs: options.stateRefreshMs ?? DEFAULT_STATE_REFRESH_MS,
    timeoutMs: stateWaitMs,
    logger,
  });
  let closed = false;
  let sqsIntake: QueueIntake | undefined = options.sqsIntake;
  const sqs = (): QueueIntake => (sqsIntake ??= createSqsIntake({ now }));

  const clusterOf = (ns: NamespaceConfig): ClusterConfig => {
    const cluster = configNow().clusters[ns.cluster];
    if (!cluster) throw new Error(`namespace '${ns.name}' names cluster '${ns.cluster}', which the configuration does not define`);
    return cluster;
  };

  // The queue backends: Kafka (the default) and SQS, behind one QueueIntake interface.
  const kafkaIntake: KafkaIntake = createKafkaIntake({ clusterOf, kafka: (cluster) => kafkaFactory(cluster, clientId), timeoutMs, logger, now });
  const intakeOf = (ns: NamespaceConfig): QueueIntake => (ns.queue?.type === 'sqs' ? sqs() : kafkaIntake);

  const toResult = (id: string, topic: string, outcome: SendOutcome): WriteResult => {
    const retrySafe = `retrying with the same id (${id}) is safe`;
    switch (outcome.status) {
      case 'acked': {
        if (outcome.messageId !== undefined) return { durable: 'true', id, message: `written to ${topic} (MessageId ${outcome.messageId})` };
        const where = outcome.partition === undefined ? topic : `${topic} partition ${outcome.partition} offset ${outcome.offset}`;
        return { durable: 'true', id, partition: outcome.partition, offset: outcome.offset, message: `written to ${where}, acknowledged by all in-sync replicas` };
      }
      case 'not-sent':
        return { durable: 'false', id, reason: outcome.reason === 'writer-closed' ? 'writer-closed' : 'broker-unavailable', message: `nothing was written: ${outcome.detail}; ${retrySafe}` };
      case 'rejected':
        return { durable: 'false', id, reason: 'rejected-by-broker', message: `nothing was written: the broker refused the record (${outcome.detail})` };
      case 'ambiguous':
        return {
          durable: 'unknown',
          id,
          reason: outcome.reason,
          message: `the record may or may not be written (${outcome.reason === 'timeout' ? '' : 'connection lost after the send began: '}${outcome.detail}); ${retrySafe}`,
        };
      case 'withheld':
      case 'unencodable':
        // Answered by writeToLog before it gets here (bypass, registry failures).
        return { durable: 'false', id, reason: 'invalid-request', message: 'nothing was written' };
    }
  };

  const writeToLog = async (request: WriteRequest, context?: { logger?: Pick<Logger, 'warn'> }): Promise<WriteResult> => {
    const started = now();
    const deadline = started + timeoutMs;
    let built = buildWriteRecord(request, configNow(), started, newId);
    if (!built.ok && built.result.reason === 'unknown-namespace' && live) {
      // Applied a moment ago? Read the registry up to now before saying no.
      await live.refresh(Math.max(0, Math.min(5000, deadline - now()))).catch(() => undefined);
      built = buildWriteRecord({ ...request, id: built.result.id }, configNow(), started, newId);
    }
    if (!built.ok) return built.result;
    const { record, namespace } = built;
    const id = record.id;
    if (closed) return { durable: 'false', id, reason: 'writer-closed', message: 'nothing was written: the writer is closed' };

    let cluster: ClusterConfig;
    try {
      cluster = clusterOf(namespace);
    } catch (error) {
      return registryFailure(id, error);
    }
    // Looked up while the backend prepares the record (Avro encoding for Kafka), so that neither
    // waits for the other; bypass answers first.
    const lookup = bypass.stateOf(namespace.name, cluster, Math.min(stateWaitMs, Math.max(0, deadline - now())));
    const inBypass = async (): Promise<boolean> => (await lookup)?.bypass === true;
    const intake = intakeOf(namespace);
    const outcome = await intake.append(record, namespace, deadline, inBypass);
    if (outcome.status === 'withheld' || (outcome.status === 'unencodable' && (await inBypass()))) {
      bypassRefusals.labels(namespace.name).inc();
      return bypassed(id, namespace.name);
    }
    if (outcome.status === 'unencodable') return registryFailure(id, outcome.error);
    const result = toResult(id, intake.describe(namespace), outcome);
    if (result.durable !== 'true') (context?.logger ?? logger).warn({ namespace: namespace.name, id, durable: result.durable, reason: result.reason }, result.message);
    return result;
  };

  return {
    writeToLog,

    writeBatch: (requests) => Promise.all(requests.map((request) => writeToLog(request))),

    async connect() {
      const needed = new Map(configNow().namespaces.map((ns) => [ns.cluster, clusterOf(ns)]));
      await kafkaIntake.connect([...needed.values()]);
      await bypass.load([...needed.values()]);
    },

    isReady() {
      if (closed) return false;
      const needed = new Set(configNow().namespaces.map((ns) => ns.cluster));
      return [...needed].every((name) => kafkaIntake.isConnected(name));
    },

    async close() {
      closed = true;
      await kafkaIntake.close();
      await sqsIntake?.close();
      await bypass.close();
    },
  };
}

/**
 * The answer to a write whose namespace is in bypass. The writer refuses rather than calling the
 * target itself: a direct call would silently lose what the WAL promises (the delay, retries with
 * backoff, the DLQ, per-key order and id deduplication), so the caller must choose knowingly.
 */
function bypassed(id: string, namespace: string): WriteResult {
  return {
    durable: 'false',
    id,
    reason: 'namespace-bypassed',
    message: `nothing was written: namespace ${namespace} is in bypass: wal takes no writes; write to your target directly or turn bypass off (wal namespace bypass ${namespace} --off)`,
  };
}

function registryFailure(id: string, error: unknown): WriteResult {
  const detail = (error as Error)?.message ?? String(error);
  if (error instanceof DeadlineError || error instanceof RegistryUnavailableError) {
    return { durable: 'false', id, reason: 'registry-unavailable', message: `nothing was written: ${detail}; retrying with the same id (${id}) is safe` };
  }
  if (error instanceof InvalidRecordError) return { durable: 'false', id, reason: 'invalid-request', message: `nothing was written: ${detail}` };
  if (error instanceof SerdeError) return { durable: 'false', id, reason: 'schema-rejected', message: `nothing was written: ${detail}` };
  return { durable: 'false', id, reason: 'invalid-request', message: `nothing was written: ${detail}` };
}
