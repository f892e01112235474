import type { Admin, Consumer, EachBatchPayload, Kafka, Message, Producer } from 'kafkajs';
import type { ProcessingGuarantee, ReplicationConfig } from '../namespaces/types';
import type { Logger } from '../observability/logger';
import { GroupCheckpointer, type CheckpointRound } from './checkpoints';
import { readLatestByKey } from './compacted';
import { AtLeastOnceWriter, type BatchSlot, type TargetWriter } from './target-writer';
import { ExactlyOnceWriter } from './exactly-once-writer';
import { DEFAULT_COMMIT_POLICY } from './commit-policy';
import { MirrorConfigError } from './errors';
import { Mutex } from 'async-mutex';
import { checkpointAge, groupCheckpoints, groupOffsetsApplied, groupOffsetsSyncedAt, lagRecords, lagSeconds, mirroredRecords, mirrorTransactions, mirroredTopics, skippedRecords } from './metrics';
import { decodeSyncs, encodeSyncs, OffsetSyncStore } from './offset-syncs';
import { shouldMirror, withOrigin, type ClusterIdentity } from './origin';
import { GroupOffsetsDue, PositionStore } from './positions';
import { looksLikeWireFormat, type SchemaTranslator } from './schema-translator';
import { PartitionProgress } from './progress';
import { ensureInternalTopics, ensureTargetTopics, type TopicLayout } from './provision';
import { MIRROR_INTERNAL_PREFIX, selectionFor, selectTopics, type MirroredTopic } from './topics';

export interface MirrorTuning {
  /** How often the source is listed for new matching topics (kafkajs only matches at subscribe time). */
  readonly discoveryIntervalMs?: number;
  /** How often end offsets are fetched for the lag metrics. */
  readonly lagIntervalMs?: number;
  readonly partitionsConsumedConcurrently?: number;
  readonly maxBytesPerPartition?: number;
  readonly maxWaitTimeMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly rebalanceTimeoutMs?: number;
  /** Delay before re-creating a consumer that kafkajs gave up on. */
  readonly restartBackoffMs?: number;
  /** Exactly-once: longest a transaction waits for the other batches of its fetch to join (CommitPolicy.lingerMs). */
  readonly transactionLingerMs?: number;
  /** Exactly-once: records at which a transaction commits without waiting for more batches. */
  readonly transactionMaxRecords?: number;
}

/** The source consumer's defaults (the mirror bench reports them with its figures). */
export const MIRROR_CONSUMER_DEFAULTS = { partitionsConsumedConcurrently: 4, maxBytesPerPartition: 512 * 1024, maxWaitTimeMs: 500 } as const;

export interface MirrorLinkOptions {
  readonly namespace: string;
  readonly guarantee: ProcessingGuarantee;
  readonly replication: ReplicationConfig;
  readonly replicationFactor: number;
  readonly source: { readonly alias: string; readonly kafka: Kafka };
  readonly target: { readonly alias: string; readonly kafka: Kafka };
  readonly knownAliases: readonly string[];
  readonly instanceId: string;
  readonly applyGroupOffsets: boolean;
  readonly tuning: MirrorTuning;
  readonly logger: Logger;
  readonly now: () => number;
  /** Rewrites schema ids for the target's registry (replication.schemas: copy, two registries). */
  readonly schemas?: SchemaTranslator;
}

export interface MirrorPartitionStatus {
  readonly topic: string;
  readonly partition: number;
  /** Next source offset to mirror. */
  readonly position: string | null;
  readonly highWatermark: string | null;
  readonly lag: number | null;
  readonly lagSeconds: number | null;
  /** Records mirrored / skipped (loop prevention) by this process. */
  readonly mirrored: number;
  readonly skipped: number;
}

export interface MirrorLinkStatus {
  readonly source: string;
  readonly target: string;
  readonly groupId: string;
  readonly state: 'created' | 'starting' | 'running' | 'stopping' | 'stopped';
  /**
   * Running and its source consumer is in its group (a GROUP_JOIN and no rebalance, crash or stop
   * since); a running link with no topic to mirror has no group to be in and counts as joined.
   */
  readonly joined: boolean;
  readonly topics: MirroredTopic[];
  readonly partitions: MirrorPartitionStatus[];
  /** When source positions were last checkpointed (ISO time), null before the first. */
  readonly lastCheckpointAt: string | null;
  readonly lastGroupCheckpoint: { readonly at: string; readonly checkpoints: number; readonly applied: number } | null;
}

/** Internal topic names on the target for mirroring `source` in namespace `ns`. */
export function internalTopics(ns: string, source: string): { positions: string; offsetSyncs: string; checkpoints: string } {
  return {
    positions: `${MIRROR_INTERNAL_PREFIX}${ns}.${source}.positions`,
    offsetSyncs: `${MIRROR_INTERNAL_PREFIX}${ns}.${source}.offset-syncs`,
    // MM2's name, so tools that read MM2 checkpoints find it.
    checkpoints: `${source}.checkpoints.internal`,
  };
}

/**
 * One source→target mirror: a consumer group `wal.mirror.<ns>.<target>` on the source, producers on
 * the target, topic discovery, offset syncs and group checkpoints.
 */
export class MirrorLink {
  readonly groupId: string;
  private readonly topicsOnTarget: ReturnType<typeof internalTopics>;
  private readonly syncs = new OffsetSyncStore();
  private readonly positions?: PositionStore;
  private readonly groupOffsetsDue = new GroupOffsetsDue();
  private readonly writer: TargetWriter;
  private readonly consumerLock = new Mutex();
  private readonly progress = new Map<string, PartitionProgress>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly labels: { namespace: string; source: string; target: string };
  private sourceAdmin?: Admin;
  private targetAdmin?: Admin;
  private internalProducer?: Producer;
  private checkpointer?: GroupCheckpointer;
  private sourceIdentity?: ClusterIdentity;
  private targetClusterId = '';
  private layouts = new Map<string, TopicLayout>();
  private signature: string | undefined;
  private consumer?: Consumer;
  private consumerJoined = false;
  /** Held by pause() until resume(): the source consumer fetches nothing, so nothing is produced to the target. */
  private paused = false;
  private positionsReady: Promise<void> = Promise.resolve();
  private state: MirrorLinkStatus['state'] = 'created';
  private lastCheckpointAt: number | undefined;
  private lastGroupRound: { at: number; round: CheckpointRound } | undefined;
  private restartTimer?: NodeJS.Timeout;

  constructor(private readonly options: MirrorLinkOptions) {
    const { namespace, source, target, guarantee, instanceId } = options;
    this.groupId = `wal.mirror.${namespace}.${target.alias}`;
    this.topicsOnTarget = internalTopics(namespace, source.alias);
    this.labels = { namespace, source: source.alias, target: target.alias };
    if (guarantee === 'exactly-once') {
      this.positions = new PositionStore(this.topicsOnTarget.positions);
      const t = options.tuning;
      this.writer = new ExactlyOnceWriter({
        kafka: target.kafka,
        transactionalId: `wal.mirror.${namespace}.${source.alias}.${target.alias}.${instanceId}`,
        positions: this.positions,
        policy: { lingerMs: t.transactionLingerMs ?? DEFAULT_COMMIT_POLICY.lingerMs, maxRecords: t.transactionMaxRecords ?? DEFAULT_COMMIT_POLICY.maxRecords },
        onCommitted: () => mirrorTransactions.inc(this.labels),
        now: options.now,
      });
    } else {
      this.writer = new AtLeastOnceWriter(target.kafka);
    }
  }

  async start(): Promise<void> {
    this.state = 'starting';
    const { source, target, replicationFactor, logger } = this.options;
    this.sourceAdmin = source.kafka.admin();
    this.targetAdmin = target.kafka.admin();
    await Promise.all([this.sourceAdmin.connect(), this.targetAdmin.connect()]);
    const [sourceCluster, targetCluster] = await Promise.all([this.sourceAdmin.describeCluster(), this.targetAdmin.describeCluster()]);
    if (sourceCluster.clusterId === targetCluster.clusterId) {
      throw new MirrorConfigError(`replication source "${source.alias}" and target "${target.alias}" are the same Kafka cluster (${sourceCluster.clusterId})`);
    }
    this.sourceIdentity = { alias: source.alias, clusterId: sourceCluster.clusterId };
    this.targetClusterId = targetCluster.clusterId;
    const internal = [this.topicsOnTarget.offsetSyncs, this.topicsOnTarget.checkpoints, ...(this.positions ? [this.topicsOnTarget.positions] : [])];
    await ensureInternalTopics(this.targetAdmin, internal, { replicationFactor, targetCluster: target.alias });
    this.internalProducer = target.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.internalProducer.connect();
    await this.loadSyncs();
    // Exactly-once: initialising the transactional producer fences a previous incarnation first.
    await this.writer.start();
    this.checkpointer = new GroupCheckpointer({
      source: this.sourceAdmin,
      target: this.targetAdmin,
      producer: this.internalProducer,
      checkpointTopic: this.topicsOnTarget.checkpoints,
      sourceAlias: source.alias,
      groups: this.options.replication.groups,
      syncs: this.syncs,
      sourceTopics: () => [...this.layouts.keys()],
      applyToIdleGroups: this.options.applyGroupOffsets,
      logger,
      now: this.options.now,
    });
    await this.discover();
    const t = this.options.tuning;
    this.every(t.discoveryIntervalMs ?? 5000, () => this.discover());
    this.every(t.lagIntervalMs ?? 5000, () => this.refreshLag());
    if (this.positions) this.every(t.lagIntervalMs ?? 5000, () => this.commitGroupOffsets());
    this.every(this.options.replication.checkpointIntervalMs, () => this.checkpointRound());
    this.state = 'running';
    logger.info({ groupId: this.groupId, source: source.alias, target: target.alias, topics: [...this.layouts.keys()] }, 'mirror link started');
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.restartTimer);
    await this.consumerLock.runExclusive(() => this.stopConsumer());
    await this.flushSyncs().catch((err: unknown) => this.options.logger.warn({ err }, 'final offset-sync flush failed'));
    await this.writer.stop();
    await this.internalProducer?.disconnect().catch(() => undefined);
    await Promise.all([this.sourceAdmin, this.targetAdmin].flatMap((admin) => (admin ? [admin.disconnect().catch(() => undefined)] : [])));
    this.state = 'stopped';
    this.options.logger.info({ groupId: this.groupId }, 'mirror link stopped');
  }

  /**
   * Stops mirroring until resume(): the source consumer stays in its group with every topic paused,
   * so nothing is fetched or produced; discovery and lag metrics go on (the lag shows what waits).
   */
  pause(): void {
    this.paused = true;
    this.holdFetches();
  }

  resume(): void {
    this.paused = false;
    try {
      this.consumer?.resume([...this.layouts.keys()].map((topic) => ({ topic })));
    } catch {
      // Not running yet: the consumer starts unpaused.
    }
  }

  private holdFetches(): void {
    try {
      this.consumer?.pause([...this.layouts.keys()].map((topic) => ({ topic })));
    } catch {
      // Before run(): startConsumer applies it once running.
    }
  }

  /** One checkpoint round now: flush offset syncs, translate and publish group offsets. */
  async checkpointRound(): Promise<CheckpointRound> {
    await this.flushSyncs();
    const round = await this.checkpointer!.run();
    this.lastGroupRound = { at: this.options.now(), round };
    for (const c of round.checkpoints) groupCheckpoints.inc({ ...this.labels, group: c.group });
    for (const c of round.applied) groupOffsetsApplied.inc({ ...this.labels, group: c.group });
    if (round.applied.length > 0) groupOffsetsSyncedAt.set(this.labels, this.lastGroupRound.at / 1000);
    return round;
  }

  status(): MirrorLinkStatus {
    const now = this.options.now();
    const partitions = [...this.progress.values()]
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
      .map((p) => {
        const lag = p.lag(now);
        return {
          topic: p.topic,
          partition: p.partition,
          position: p.position?.toString() ?? null,
          highWatermark: p.highWatermark?.toString() ?? null,
          lag: lag.records,
          lagSeconds: lag.seconds,
          mirrored: p.mirrored,
          skipped: p.skipped,
        };
      });
    const g = this.lastGroupRound;
    return {
      source: this.options.source.alias,
      target: this.options.target.alias,
      groupId: this.groupId,
      state: this.state,
      joined: this.state === 'running' && (this.layouts.size === 0 || this.consumerJoined),
      topics: [...this.layouts.values()].map(({ source, target }) => ({ source, target })),
      partitions,
      lastCheckpointAt: this.lastCheckpointAt === undefined ? null : new Date(this.lastCheckpointAt).toISOString(),
      lastGroupCheckpoint: g ? { at: new Date(g.at).toISOString(), checkpoints: g.round.checkpoints.length, applied: g.round.applied.length } : null,
    };
  }

  /** Lists the source, provisions target topics for new matches, re-subscribes when the set changed. */
  async discover(): Promise<void> {
    const { replication, target, knownAliases, replicationFactor } = this.options;
    const selection = selectionFor(replication, target.alias, knownAliases);
    const selected = selectTopics(await this.sourceAdmin!.listTopics(), selection);
    const layouts = await ensureTargetTopics(this.sourceAdmin!, this.targetAdmin!, selected, { replicationFactor, targetCluster: target.alias });
    const signature = layouts.map((l) => `${l.source}>${l.target}:${l.sourcePartitions}:${l.targetPartitions}`).join(',');
    if (signature === this.signature) return;
    await this.consumerLock.runExclusive(async () => {
      if (this.state === 'stopping' || this.state === 'stopped') return;
      this.options.logger.info({ groupId: this.groupId, topics: layouts.map((l) => l.source) }, 'mirrored topic set changed: re-subscribing');
      await this.startConsumer(layouts);
      this.signature = signature;
    });
  }

  private every(ms: number, fn: () => Promise<unknown>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || this.state !== 'running') return;
      busy = true;
      fn()
        .catch((err: unknown) => this.options.logger.warn({ err, groupId: this.groupId }, 'mirror background task failed; retrying next round'))
        .finally(() => (busy = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private async startConsumer(layouts: TopicLayout[]): Promise<void> {
    await this.stopConsumer();
    this.layouts = new Map(layouts.map((l) => [l.source, l]));
    mirroredTopics.set(this.labels, layouts.length);
    if (layouts.length === 0) return;
    const t = this.options.tuning;
    const consumer = this.options.source.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      maxWaitTimeInMs: t.maxWaitTimeMs ?? MIRROR_CONSUMER_DEFAULTS.maxWaitTimeMs,
      maxBytesPerPartition: t.maxBytesPerPartition ?? MIRROR_CONSUMER_DEFAULTS.maxBytesPerPartition,
      sessionTimeout: t.sessionTimeoutMs ?? 30000,
      heartbeatInterval: t.heartbeatIntervalMs ?? 3000,
      rebalanceTimeout: t.rebalanceTimeoutMs ?? 60000,
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (consumer !== this.consumer) return;
      this.consumerJoined = true;
      // A consumer kafkajs restarted internally has a fresh pause state.
      if (this.paused) this.holdFetches();
    });
    consumer.on(consumer.events.REBALANCING, () => {
      if (consumer === this.consumer) this.consumerJoined = false;
    });
    consumer.on(consumer.events.COMMIT_OFFSETS, () => {
      if (!this.positions) this.lastCheckpointAt = this.options.now();
    });
    if (this.positions) {
      // Partitions may come from another instance: their positions are whatever the target committed last.
      consumer.on(consumer.events.GROUP_JOIN, () => {
        this.positionsReady = this.positions!.reload(this.options.target.kafka);
        // Partitions may have moved: their offsets are the new owner's to commit.
        this.groupOffsetsDue.take();
      });
    }
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (consumer === this.consumer) this.consumerJoined = false;
      if (payload.restart || consumer !== this.consumer || this.state !== 'running') return;
      this.options.logger.error({ err: payload.error, groupId: this.groupId }, 'mirror consumer crashed; restarting');
      this.restartTimer = setTimeout(() => {
        this.signature = undefined;
        void this.discover().catch((err: unknown) => this.options.logger.warn({ err }, 'mirror restart failed; discovery retries'));
      }, t.restartBackoffMs ?? 2000);
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: layouts.map((l) => l.source), fromBeginning: true });
    await consumer.run({
      // Exactly-once: the positions on the target are the truth; the group offset follows by interval.
      autoCommit: !this.positions,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: t.partitionsConsumedConcurrently ?? MIRROR_CONSUMER_DEFAULTS.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.onBatch(payload),
    });
    if (this.paused) this.holdFetches();
  }

  private async stopConsumer(): Promise<void> {
    if (this.positions) await this.commitGroupOffsets();
    const consumer = this.consumer;
    this.consumer = undefined;
    this.consumerJoined = false;
    // disconnect waits for the batch in flight, whose offsets kafkajs commits before leaving the group.
    await consumer?.disconnect().catch((err: unknown) => this.options.logger.warn({ err }, 'mirror consumer disconnect failed'));
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    // Announced at once: an exactly-once transaction waits for the batches fetched with this one.
    const slot = this.writer.announce();
    try {
      await this.mirrorBatch(payload, slot);
    } finally {
      slot.release();
    }
  }

  private async mirrorBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload, slot: BatchSlot): Promise<void> {
    const layout = this.layouts.get(batch.topic);
    // Not resolved while paused: fetched again from here once resumed.
    if (!layout || batch.isEmpty() || this.paused) return;
    await this.positionsReady;
    if (!isRunning() || isStale() || this.paused) return;
    const now = this.options.now();
    const stored = this.positions?.get(batch.topic, batch.partition);
    const fresh = stored === undefined ? batch.messages : batch.messages.filter((m) => BigInt(m.offset) >= stored);
    const messages: Message[] = [];
    const sourceOffsets: bigint[] = [];
    let skipped = 0;
    for (const m of fresh) {
      if (!shouldMirror(m.headers, this.targetClusterId)) {
        skipped++;
        continue;
      }
      let { key, value } = m;
      if (this.options.schemas && (looksLikeWireFormat(key) || looksLikeWireFormat(value))) {
        const [k, v] = await Promise.all([this.options.schemas.translate(key, layout.target, 'key'), this.options.schemas.translate(value, layout.target, 'value')]);
        if ('skip' in k || 'skip' in v) {
          const reason = 'skip' in k ? k.skip : (v as { skip: string }).skip;
          this.options.logger.warn({ topic: batch.topic, partition: batch.partition, offset: m.offset, reason }, 'record not mirrored: its schema is refused by the target registry');
          skipped++;
          continue;
        }
        key = k.bytes;
        value = v.bytes;
      }
      messages.push({ key, value, headers: withOrigin(m.headers, this.sourceIdentity!), timestamp: m.timestamp });
      sourceOffsets.push(BigInt(m.offset));
    }
    const next = BigInt(batch.lastOffset()) + 1n;
    if (messages.length > 0) {
      const preserved = batch.partition < layout.targetPartitions;
      const pairs = await slot.deliver({
        sourceTopic: batch.topic,
        sourcePartition: batch.partition,
        targetTopic: layout.target,
        ...(preserved ? { targetPartition: batch.partition } : {}),
        messages,
        sourceOffsets,
        next,
        heartbeat,
      });
      for (const p of pairs) this.syncs.add(batch.topic, layout.target, batch.partition, p.source, p.target);
      if (this.positions) this.lastCheckpointAt = this.options.now();
      mirroredRecords.inc({ ...this.labels, topic: batch.topic }, messages.length);
    }
    if (skipped > 0) skippedRecords.inc({ ...this.labels, topic: batch.topic }, skipped);
    resolveOffset(batch.lastOffset());
    if (this.positions) this.groupOffsetsDue.set(batch.topic, batch.partition, next);
    const progress = this.progressOf(batch.topic, batch.partition);
    const last = fresh[fresh.length - 1];
    progress.advance(next, last ? Number(last.timestamp) : undefined, messages.length, skipped, now);
    progress.observeHighWatermark(BigInt(batch.highWatermark), this.options.now());
    await heartbeat();
  }

  /** Exactly-once: commits the source group offsets of batches committed on the target (a restart hint). */
  private async commitGroupOffsets(): Promise<void> {
    const offsets = this.groupOffsetsDue.take();
    if (offsets.length === 0 || !this.consumer) return;
    // A commit refused during a rebalance costs a new owner some records read again and filtered.
    await this.consumer.commitOffsets(offsets).catch((err: unknown) => this.options.logger.debug({ err }, 'group offset commit skipped'));
  }

  private progressOf(topic: string, partition: number): PartitionProgress {
    const key = `${partition}\u0000${topic}`;
    let p = this.progress.get(key);
    if (!p) this.progress.set(key, (p = new PartitionProgress(topic, partition)));
    return p;
  }

  /** End offsets of the mirrored topics → lag gauges; positions not seen yet come from the group or the EOS store. */
  private async refreshLag(): Promise<void> {
    const admin = this.sourceAdmin!;
    const topics = [...this.layouts.keys()];
    const committed = topics.length > 0 ? await admin.fetchOffsets({ groupId: this.groupId, topics }) : [];
    const now = this.options.now();
    for (const topic of topics) {
      for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
        const p = this.progressOf(topic, partition);
        const known = this.positions?.get(topic, partition);
        const group = committed.find((c) => c.topic === topic)?.partitions.find((x) => x.partition === partition);
        const groupOffset = group && BigInt(group.offset) >= 0n ? BigInt(group.offset) : undefined;
        p.assume(known ?? groupOffset ?? BigInt(low), now);
        p.observeHighWatermark(BigInt(high), now);
        const lag = p.lag(now);
        const labels = { ...this.labels, topic, partition: String(partition) };
        if (lag.records !== null) lagRecords.set(labels, lag.records);
        if (lag.seconds !== null) lagSeconds.set(labels, lag.seconds);
      }
    }
    if (this.lastCheckpointAt !== undefined) checkpointAge.set(this.labels, (now - this.lastCheckpointAt) / 1000);
  }

  private async loadSyncs(): Promise<void> {
    const latest = await readLatestByKey(this.options.target.kafka, this.topicsOnTarget.offsetSyncs);
    for (const [key, value] of latest) {
      const syncs = decodeSyncs(key, value);
      if (syncs) this.syncs.load(syncs);
    }
  }

  private async flushSyncs(): Promise<void> {
    const dirty = this.syncs.takeDirty();
    if (dirty.length === 0 || !this.internalProducer) return;
    await this.internalProducer.send({ topic: this.topicsOnTarget.offsetSyncs, acks: -1, messages: dirty.map(encodeSyncs) });
  }
}
