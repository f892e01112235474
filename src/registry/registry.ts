import type { Kafka, Producer } from 'kafkajs';
import { applyTopics } from '../kafka/apply';
import { TopicLog } from '../kafka/topic-log';
import { currentKey, DEFAULT_REGISTRY_TOPIC, encodeEntry, RegistryView, versionKey, type RegistryEntry } from './entries';

export interface RegistryOptions {
  /** Default `wal.namespaces`. */
  readonly topic?: string;
  /** Cluster alias of the registry (for the topic spec's messages). */
  readonly cluster?: string;
  /** How long opening may take to read the registry to its end (default 30 s). */
  readonly readTimeoutMs?: number;
}

/**
 * The namespace registry on a Kafka cluster: followed from its start (every instance keeps the
 * whole, small, registry in memory) and written with acks=all by `wal namespace apply|delete`.
 * `onChange` listeners hear about every record as it is read, a writer's own included.
 */
export class NamespaceRegistry {
  readonly view = new RegistryView();
  readonly topic: string;
  private readonly log: TopicLog;
  private producer?: Producer;
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly kafka: Kafka,
    private readonly options: RegistryOptions,
  ) {
    this.topic = options.topic ?? DEFAULT_REGISTRY_TOPIC;
    this.log = new TopicLog(kafka, {
      topic: this.topic,
      label: 'registry',
      onRecord: (message) => {
        this.view.apply(message);
        for (const listener of this.listeners) listener();
      },
    });
  }

  /** Creates the topic when missing (compacted, one partition, replicated up to 3), then reads it to its end. */
  static async open(kafka: Kafka, options: RegistryOptions = {}): Promise<NamespaceRegistry> {
    const registry = new NamespaceRegistry(kafka, options);
    await registry.ensureTopic();
    await registry.log.start();
    try {
      await registry.log.readToEnd(options.readTimeoutMs ?? 30_000);
    } catch (error) {
      await registry.close();
      throw error;
    }
    return registry;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads what was written since; after it, `view` holds every write acknowledged before the call. */
  refresh(timeoutMs = 20_000): Promise<void> {
    return this.log.readToEnd(timeoutMs);
  }

  /** Writes entries (current + version keys), acks=all, then reads them back. */
  async write(entries: readonly RegistryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if (!this.producer) {
      this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await this.producer.connect();
    }
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: entries.flatMap((entry) => [
        { key: versionKey(entry.name, entry.version), value: encodeEntry(entry) },
        // A delete tombstones the current key: compaction then forgets the namespace but not its history.
        { key: currentKey(entry.name), value: entry.deleted ? null : encodeEntry(entry) },
      ]),
    });
    await this.refresh();
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
    await this.log.stop();
  }

  private async ensureTopic(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const { brokers } = await admin.describeCluster();
      const result = await applyTopics(admin, [
        {
          topic: this.topic,
          cluster: this.options.cluster ?? 'registry',
          role: 'namespace registry',
          partitions: 1,
          replicationFactor: Math.min(3, brokers.length),
          configs: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '60000' },
        },
      ]);
      if (result.drift.length > 0) throw new Error(result.drift.map((d) => d.message).join('; '));
    } finally {
      await admin.disconnect();
    }
  }
}
