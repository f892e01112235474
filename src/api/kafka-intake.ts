import type { Kafka } from 'kafkajs';
import type { ClusterConfig, NamespaceConfig } from '../namespaces/types';
import type { Logger } from '../observability/logger';
import type { QueueIntake, SendOutcome } from '../queues/intake';
import { createAvroCodec, registryOf, type AvroCodec } from '../wire/codec';
import { INTAKE_HEADERS } from '../wire/headers';
import { writeToLogRequestSchema } from '../wire/intake';
import { valueSubject } from '../wire/schemas';
import { explainConnectError } from '../kafka/errors';
import { ClusterSender, createClusterSender } from './sender';

/** The schema registry did not answer within the write's budget. */
export class DeadlineError extends Error {}

async function beforeDeadline<T>(promise: Promise<T>, deadline: number, now: () => number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineError(what)), Math.max(0, deadline - now()));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface KafkaIntakeOptions {
  /** The namespace's cluster (throws when the configuration does not define it). */
  readonly clusterOf: (ns: NamespaceConfig) => ClusterConfig;
  readonly kafka: (cluster: ClusterConfig) => Kafka;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly now: () => number;
}

/** The Kafka intake plus what the writer's readiness needs: its producers per cluster. */
export interface KafkaIntake extends QueueIntake {
  connect(clusters: readonly ClusterConfig[]): Promise<void>;
  isConnected(cluster: string): boolean;
}

/**
 * The Kafka half of the writer's intake (the default backend): registers the intake schema once per
 * namespace, encodes the request as Avro (Confluent wire format) and sends it through one idempotent
 * producer per cluster, keyed by id so that a retry lands on the same partition.
 */
export function createKafkaIntake(options: KafkaIntakeOptions): KafkaIntake {
  const { clusterOf, timeoutMs, logger, now } = options;
  const codecs = new Map<string, AvroCodec>();
  const senders = new Map<string, ClusterSender>();
  const schemaIds = new Map<string, Promise<number>>();
  // The same ids once registered: read without a promise and a deadline timer per write.
  const registeredIds = new Map<string, number>();

  const codecFor = (cluster: ClusterConfig): AvroCodec => {
    let codec = codecs.get(cluster.name);
    if (!codec) {
      codec = createAvroCodec({ ...registryOf(cluster), requestTimeoutMs: Math.min(5000, Math.max(500, Math.floor(timeoutMs / 2))) });
      codecs.set(cluster.name, codec);
    }
    return codec;
  };

  const senderFor = (cluster: ClusterConfig): ClusterSender => {
    let sender = senders.get(cluster.name);
    if (!sender) {
      sender = createClusterSender({
        kafka: options.kafka(cluster),
        clusterName: cluster.name,
        timeoutMs,
        logger,
        now,
        explainConnectError: (error) => explainConnectError(error, cluster, Math.min(1000, Math.floor(timeoutMs / 4))),
      });
      senders.set(cluster.name, sender);
    }
    return sender;
  };

  /** The intake schema id of a namespace, registered once; a failure is not cached. */
  const schemaIdFor = (ns: NamespaceConfig, codec: AvroCodec): Promise<number> => {
    let pending = schemaIds.get(ns.name);
    if (!pending) {
      pending = codec.registerSchema(valueSubject(ns.topics.intake), writeToLogRequestSchema());
      pending.then(
        (id) => registeredIds.set(ns.name, id),
        () => schemaIds.delete(ns.name),
      );
      schemaIds.set(ns.name, pending);
    }
    return pending;
  };

  return {
    describe: (ns) => ns.topics.intake,

    async append(request, ns, deadline, hold): Promise<SendOutcome> {
      let cluster: ClusterConfig;
      let value: Buffer;
      try {
        cluster = clusterOf(ns);
        const codec = codecFor(cluster);
        const schemaId = registeredIds.get(ns.name) ?? (await beforeDeadline(schemaIdFor(ns, codec), deadline, now, `the schema registry did not answer within ${timeoutMs} ms`));
        value = await codec.encode(schemaId, request);
      } catch (error) {
        return { status: 'unencodable', error };
      }
      if (await hold?.()) return { status: 'withheld' };
      return senderFor(cluster).send({
        topic: ns.topics.intake,
        key: request.id,
        value,
        headers: { [INTAKE_HEADERS.id]: request.id, [INTAKE_HEADERS.namespace]: ns.name },
        timestamp: request.lifecycle.writeTime,
        deadline,
      });
    },

    async connect(clusters) {
      await Promise.all(clusters.map((cluster) => senderFor(cluster).connect()));
    },

    isConnected: (cluster) => senders.get(cluster)?.isConnected() === true,

    async close() {
      await Promise.all([...senders.values()].map((s) => s.close()));
    },
  };
}
