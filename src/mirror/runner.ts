import type { Kafka } from 'kafkajs';
import type { ClusterConfig, NamespaceConfig, ReplicationConfig, WalConfig } from '../namespaces/types';
import { registryOf } from '../wire/codec';
import { createRegistrySchemas } from '../wire/registry-schemas';
import { createKafkaClient } from '../kafka';
import { createLogger, type Logger } from '../observability/logger';
import type { NamespaceStatus, TaskStatus } from '../engine';
import type { CheckpointRound } from './checkpoints';
import { MirrorConfigError } from './errors';
import { MirrorLink, type MirrorLinkStatus, type MirrorTuning } from './link';
import { SchemaTranslator } from './schema-translator';

export interface MirrorRunnerOptions {
  readonly config: WalConfig;
  /** A namespace with `replication`; its `processingGuarantee` picks at-least-once or exactly-once. */
  readonly namespace: NamespaceConfig;
  /** Stable per process: in exactly-once mode it names the transactional producer (a restart fences its predecessor). */
  readonly instanceId: string;
  readonly logger?: Logger;
  /** Commit translated group offsets to target groups that have no active member (MM2's sync.group.offsets.enabled). Default false. */
  readonly applyGroupOffsets?: boolean;
  readonly tuning?: MirrorTuning;
  /** Kafka clients by cluster alias (tests, benchmarks); default createKafkaClient(cluster). */
  readonly kafka?: (alias: string) => Kafka;
  readonly now?: () => number;
}

/** NamespaceStatus (so `wal status` can show it like an engine namespace) plus the mirror's own view. */
export interface MirrorStatus extends NamespaceStatus {
  readonly mirror: { readonly source: string; readonly links: MirrorLinkStatus[] };
}

/**
 * Mirrors a namespace's `replication`: source cluster → each target cluster, one MirrorLink per
 * target. Built on kafkajs directly (not the stream engine): its source is another cluster and its
 * topic set changes at run time.
 */
export class MirrorRunner {
  readonly groupId: string;
  private readonly links: MirrorLink[];
  private readonly logger: Logger;
  private state: NamespaceStatus['state'] = 'created';
  private paused = false;

  constructor(private readonly options: MirrorRunnerOptions) {
    const { config, namespace, instanceId } = options;
    const replication = namespace.replication;
    if (!replication) throw new MirrorConfigError(`namespace "${namespace.name}" has no replication section`);
    const cluster = (alias: string, field: string) => {
      const c = config.clusters[alias];
      if (!c) throw new MirrorConfigError(`namespace "${namespace.name}": replication.${field} names unknown cluster "${alias}" (known: ${Object.keys(config.clusters).join(', ')})`);
      return c;
    };
    if (replication.targets.length === 0) throw new MirrorConfigError(`namespace "${namespace.name}": replication.targets is empty`);
    this.logger = options.logger ?? createLogger({ namespace: namespace.name, instance: instanceId, component: 'mirror' });
    const clients = new Map<string, Kafka>();
    const kafkaFor = (alias: string, field: string): Kafka => {
      let k = clients.get(alias);
      if (!k) {
        k = options.kafka ? options.kafka(alias) : createKafkaClient(cluster(alias, field), `wal-mirror-${namespace.name}-${instanceId}`);
        clients.set(alias, k);
      }
      return k;
    };
    cluster(replication.source, 'source');
    const source = { alias: replication.source, kafka: kafkaFor(replication.source, 'source') };
    this.links = replication.targets.map((alias, i) => {
      cluster(alias, `targets[${i}]`);
      return new MirrorLink({
        namespace: namespace.name,
        guarantee: namespace.processingGuarantee,
        replication,
        replicationFactor: namespace.replicationFactor,
        source,
        target: { alias, kafka: kafkaFor(alias, `targets[${i}]`) },
        knownAliases: Object.keys(config.clusters),
        instanceId,
        applyGroupOffsets: options.applyGroupOffsets ?? replication.syncGroupOffsets ?? false,
        tuning: options.tuning ?? {},
        logger: this.logger.child({ target: alias }),
        now: options.now ?? Date.now,
        schemas: translatorFor(replication, config.clusters[replication.source], config.clusters[alias], { namespace: namespace.name, target: alias }),
      });
    });
    this.groupId = this.links.map((l) => l.groupId).join(',');
  }

  get guarantee(): NamespaceConfig['processingGuarantee'] {
    return this.options.namespace.processingGuarantee;
  }

  /** Connects, provisions target topics, starts mirroring; rejects (after cleaning up) when a cluster is unreachable or misconfigured. */
  async start(): Promise<void> {
    this.state = 'starting';
    try {
      await Promise.all(this.links.map((l) => l.start()));
    } catch (error) {
      await Promise.allSettled(this.links.map((l) => l.stop()));
      this.state = 'stopped';
      throw error;
    }
    this.state = 'running';
  }

  /** Finishes batches in flight, commits their positions, leaves the source group, disconnects. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    await Promise.allSettled(this.links.map((l) => l.stop()));
    this.state = 'stopped';
  }

  /** Stops every link consuming and producing until resume() (e.g. `wal namespace pause`); may be called before start(). */
  pause(): Promise<void> {
    if (!this.paused) this.logger.info({ groupId: this.groupId }, 'mirror paused: nothing is fetched from the source or produced to the targets');
    this.paused = true;
    for (const link of this.links) link.pause();
    return Promise.resolve();
  }

  resume(): Promise<void> {
    if (this.paused) this.logger.info({ groupId: this.groupId }, 'mirror resumed');
    this.paused = false;
    for (const link of this.links) link.resume();
    return Promise.resolve();
  }

  /** Runs one group-offset translation round on every link now (normally every checkpointIntervalMs). */
  async checkpointGroups(): Promise<CheckpointRound[]> {
    return Promise.all(this.links.map((l) => l.checkpointRound()));
  }

  /** Looks for new matching topics now (normally every discoveryIntervalMs). */
  async discoverTopics(): Promise<void> {
    await Promise.all(this.links.map((l) => l.discover()));
  }

  async status(): Promise<MirrorStatus> {
    const links = this.links.map((l) => l.status());
    // Engine-shaped view: one "task" per source partition number, offsets per source topic.
    const byPartition = new Map<number, Record<string, TaskStatus['offsets'][string]>>();
    for (const link of links) {
      for (const p of link.partitions) {
        const offsets = byPartition.get(p.partition) ?? {};
        offsets[links.length > 1 ? `${p.topic}→${link.target}` : p.topic] = { processed: p.position, highWatermark: p.highWatermark, lag: p.lag };
        byPartition.set(p.partition, offsets);
      }
    }
    const tasks = [...byPartition].sort((a, b) => a[0] - b[0]).map(([partition, offsets]) => ({ partition, restoredRecords: 0, offsets, stores: {} }));
    return {
      namespace: this.options.namespace.name,
      groupId: this.groupId,
      guarantee: this.guarantee,
      state: this.state,
      // Joined when every link's source consumer is in its group (a link with nothing to mirror counts as joined).
      joined: this.state === 'running' && links.every((l) => l.joined),
      paused: this.paused,
      assigned: tasks.map((t) => t.partition),
      tasks,
      mirror: { source: this.options.namespace.replication!.source, links },
    };
  }
}

/** A schema translator for one link, when it has something to do: `schemas: copy` and two registries. */
function translatorFor(replication: ReplicationConfig, source: ClusterConfig, target: ClusterConfig, labels: { namespace: string; target: string }): SchemaTranslator | undefined {
  if ((replication.schemas ?? 'copy') !== 'copy') return undefined;
  if (source.schemaRegistryUrl.replace(/\/+$/, '') === target.schemaRegistryUrl.replace(/\/+$/, '')) return undefined;
  return new SchemaTranslator(createRegistrySchemas(registryOf(source)), createRegistrySchemas(registryOf(target)), labels);
}
