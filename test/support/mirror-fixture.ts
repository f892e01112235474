import { randomUUID } from 'node:crypto';
import { Kafka, KafkaMessage, logLevel } from 'kafkajs';
import { parseConfig } from '../../src/namespaces';
import type { NamespaceConfig, ProcessingGuarantee, WalConfig } from '../../src/namespaces/types';
import type { ClusterEndpoints } from '../../src/devcluster';
import { eventually } from './timing';

/** Helpers shared by the mirror integration tests, the kill -9 child fixture and bench/mirror.ts. */

export interface MirrorSpec {
  readonly namespace: string;
  readonly source: 'A' | 'B';
  readonly target: 'A' | 'B';
  readonly topics?: string[];
  readonly topicPattern?: string;
  readonly rename?: 'prefix' | 'identity';
  readonly groups?: string[];
  readonly guarantee?: ProcessingGuarantee;
  readonly checkpointIntervalMs?: number;
  readonly syncGroupOffsets?: boolean;
}

/** A validated WalConfig (through the real loader) for clusters A and B with one mirroring namespace. */
export function mirrorConfig(clusters: readonly ClusterEndpoints[], spec: MirrorSpec): { config: WalConfig; namespace: NamespaceConfig } {
  const doc = {
    clusters: Object.fromEntries(clusters.map((c) => [c.name, { brokers: c.brokers, schemaRegistryUrl: c.registryUrl }])),
    namespaces: [
      {
        name: spec.namespace,
        cluster: spec.source,
        processingGuarantee: spec.guarantee ?? 'at-least-once',
        replication: {
          source: spec.source,
          targets: [spec.target],
          topics: spec.topics ?? [],
          ...(spec.topicPattern ? { topicPattern: spec.topicPattern } : {}),
          rename: spec.rename ?? 'prefix',
          groups: spec.groups ?? [],
          checkpointIntervalMs: spec.checkpointIntervalMs ?? 1000,
          ...(spec.syncGroupOffsets !== undefined ? { syncGroupOffsets: spec.syncGroupOffsets } : {}),
        },
      },
    ],
  };
  const config = parseConfig(JSON.stringify(doc), `${spec.namespace}.json`, {});
  return { config, namespace: config.namespaces[0] };
}

export function kafkaFor(cluster: ClusterEndpoints, clientId = 'mirror-test'): Kafka {
  return new Kafka({ clientId, brokers: cluster.brokers, logLevel: logLevel.NOTHING });
}

/** Fast-reacting tuning for tests on the shared machine. */
// Session timeout stays at kafkajs' 30 s: on the shared, overloaded test machine a shorter one gets the
// mirror kicked out of its group mid-run (a rebalance then re-sends uncommitted batches).
export const TEST_TUNING = { discoveryIntervalMs: 1000, lagIntervalMs: 1000, heartbeatIntervalMs: 1000, maxWaitTimeMs: 200 } as const;

export async function createTopic(kafka: Kafka, topic: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: partitions, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
    });
  } finally {
    await admin.disconnect();
  }
}

export interface SourceRecord {
  readonly partition: number;
  readonly key: string;
  readonly value: string;
  readonly timestamp: string;
  readonly headers: Record<string, string>;
}

/**
 * Produces `count` records with keys, headers and explicit (past) timestamps, `partitions`-way
 * round-robin by explicit partition, in sends of `chunk`; returns what was written, per partition in order.
 */
export async function produceRecords(
  kafka: Kafka,
  topic: string,
  options: { count: number; partitions: number; tag: string; chunk?: number; pauseMs?: number; start?: number },
): Promise<SourceRecord[]> {
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const written: SourceRecord[] = [];
  const chunk = options.chunk ?? 1000;
  const start = options.start ?? 0;
  const baseTs = Date.now() - 3_600_000;
  try {
    for (let i = start; i < start + options.count; i += chunk) {
      const batch: SourceRecord[] = [];
      for (let j = i; j < Math.min(i + chunk, start + options.count); j++) {
        batch.push({
          partition: j % options.partitions,
          key: `k${j % 97}`,
          value: `${options.tag}-${j}`,
          timestamp: String(baseTs + j),
          headers: { seq: String(j), tag: options.tag },
        });
      }
      await producer.send({
        topic,
        acks: -1,
        messages: batch.map((r) => ({ partition: r.partition, key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers })),
      });
      written.push(...batch);
      if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  } finally {
    await producer.disconnect();
  }
  return written;
}

export interface ReadRecord {
  readonly partition: number;
  readonly offset: string;
  readonly message: KafkaMessage;
}

/** Reads `topic` from the start (read_committed) until `done(records)` or `timeoutMs`; rejects with what it got. */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  done: (records: ReadRecord[]) => boolean,
  timeoutMs: number,
  options: { groupId?: string; fromBeginning?: boolean; settleMs?: number } = {},
): Promise<ReadRecord[]> {
  const started = Date.now();
  await waitForTopic(kafka, topic, timeoutMs);
  timeoutMs -= Date.now() - started;
  const consumer = kafka.consumer({ groupId: options.groupId ?? `mirror-test-reader-${randomUUID()}`, maxWaitTimeInMs: 200, readUncommitted: false });
  const records: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: condition not met within ${timeoutMs} ms; got ${records.length} records`)), timeoutMs);
      let settle: NodeJS.Timeout | undefined;
      const check = () => {
        if (!done(records)) return;
        clearTimeout(timer);
        // Optionally keep reading a little longer, so that extra (duplicate / looping) records show up.
        clearTimeout(settle);
        settle = setTimeout(resolve, options.settleMs ?? 0);
      };
      void consumer.run({
        autoCommit: options.groupId !== undefined,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) records.push({ partition: batch.partition, offset: m.offset, message: m });
          check();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Waits until `topic` exists with a leader on every partition (the mirror creates target topics on its own schedule). */
export async function waitForTopic(kafka: Kafka, topic: string, timeoutMs: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await eventually(
      async () => {
        if (!(await admin.listTopics()).includes(topic)) return undefined;
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        return topics[0]?.partitions.every((p) => p.leader >= 0) ? true : undefined;
      },
      timeoutMs,
      `topic ${topic} to exist`,
    );
  } finally {
    await admin.disconnect();
  }
}

export function headerText(m: KafkaMessage, name: string): string | undefined {
  const v = m.headers?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first?.toString();
}

// The polling helper the mirror tests were written with lives in timing.ts, shared.
export { eventually };
