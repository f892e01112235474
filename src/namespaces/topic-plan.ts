import type { TopicSpec } from '../kafka/apply';
import { namespaceStateTopicSpec } from './namespace-state';
import type { NamespaceConfig } from './types';

/** What a namespace needs on Kafka: one entry per topic, on the cluster (alias) that must hold it. */
export type TopicRole = 'intake' | 'dlq' | 'dlq-marks' | 'timers-changelog' | 'completions' | 'fanout' | 'delivery' | 'namespace-state';

/** A namespace's topic, labelled with what it is for. */
export interface NamespaceTopicSpec extends TopicSpec {
  readonly role: TopicRole;
}

export const DEFAULT_DLQ_RETENTION_MS = 30 * 24 * 3600 * 1000;

/**
 * The compacted topic beside a DLQ that records which dead letters were replayed or purged. Kafka can
 * only cut a partition's prefix, so a purge or replay marks records instead of deleting them.
 */
export function dlqMarksTopic(dlqTopic: string): string {
  return `${dlqTopic}.marks`;
}
/** Room for the Avro envelope, headers and batch overhead around a payload of maxPayloadBytes. */
const RECORD_OVERHEAD_BYTES = 64 * 1024;
/** The broker's default message.max.bytes: topics never go below it. */
const BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

function maxMessageBytes(payloadBytes: number): string {
  return String(Math.max(BROKER_DEFAULT_MAX_MESSAGE_BYTES, payloadBytes + RECORD_OVERHEAD_BYTES));
}

/**
 * The topics of one namespace. The timers changelog has exactly the intake's partition count (a task's timer
 * store lives on the changelog partition with the same number as its intake partition) and is compacted;
 * the DLQ keeps records long, since dead letters wait for a person. A namespace on an SQS queue waits
 * and dead-letters in SQS: on Kafka it needs only the namespace-state topic and its Kafka targets' topics.
 */
export function planTopics(ns: NamespaceConfig): NamespaceTopicSpec[] {
  const recordBytes = maxMessageBytes(ns.maxPayloadBytes);
  const specs: NamespaceTopicSpec[] = [
    // Shared by every namespace of the cluster (`wal namespace pause|resume|bypass`); created on demand too.
    { ...namespaceStateTopicSpec(ns.cluster, ns.replicationFactor), role: 'namespace-state' },
    ...(ns.queue?.type === 'sqs' ? [] : queueTopics(ns, recordBytes)),
  ];
  for (const target of Object.values(ns.targets)) {
    if (target.type !== 'kafka') continue;
    if (specs.some((s) => s.cluster === target.cluster && s.topic === target.topic)) continue;
    specs.push({
      topic: target.topic,
      cluster: target.cluster,
      role: 'delivery',
      partitions: target.partitions,
      replicationFactor: ns.replicationFactor,
      configs: { 'cleanup.policy': 'delete', 'max.message.bytes': recordBytes },
    });
  }
  return specs;
}

/** Where a Kafka-backed namespace's requests wait, fan out and dead-letter. */
function queueTopics(ns: NamespaceConfig, recordBytes: string): NamespaceTopicSpec[] {
  const base = { cluster: ns.cluster, partitions: ns.partitions, replicationFactor: ns.replicationFactor };
  const specs: NamespaceTopicSpec[] = [
    { ...base, topic: ns.topics.intake, role: 'intake', configs: { 'cleanup.policy': 'delete', 'max.message.bytes': recordBytes } },
    {
      ...base,
      topic: ns.topics.timersChangelog,
      role: 'timers-changelog',
      configs: {
        'cleanup.policy': 'compact',
        'max.message.bytes': recordBytes,
        // Restores read the whole log: keep its uncompacted part small (same settings as src/state).
        'min.cleanable.dirty.ratio': '0.1',
        'segment.ms': String(6 * 3600 * 1000),
      },
    },
    { ...base, topic: ns.topics.completions, role: 'completions', configs: { 'cleanup.policy': 'delete' } },
  ];
  if (ns.dlq.enabled) {
    specs.push({
      ...base,
      topic: ns.topics.dlq,
      role: 'dlq',
      configs: {
        'cleanup.policy': 'delete',
        'retention.ms': String(ns.dlq.retentionMs ?? DEFAULT_DLQ_RETENTION_MS),
        'max.message.bytes': recordBytes,
      },
    });
    // One partition: every mark of the namespace in one ordered log, read whole by `wal dlq` and the depth gauge.
    specs.push({
      cluster: ns.cluster,
      topic: dlqMarksTopic(ns.topics.dlq),
      role: 'dlq-marks',
      partitions: 1,
      replicationFactor: ns.replicationFactor,
      configs: { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.1' },
    });
  }
  for (const topic of Object.values(ns.topics.targets)) {
    specs.push({
      ...base,
      topic,
      role: 'fanout',
      configs: { 'cleanup.policy': 'delete', 'max.message.bytes': maxMessageBytes(ns.chunking.maxChunkBytes) },
    });
  }
  return specs;
}
