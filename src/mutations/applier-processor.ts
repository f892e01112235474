import type { ClusterConfig, NamespaceConfig } from '../namespaces/types';
import type { Processor, ProcessorContext, WalRecord } from '../engine/api';
import { createAvroCodec, registryOf, SerdeError, type AvroCodec } from '../wire';
import { createTarget, failed, type DeliveryResult, type Target } from '../targets';
import { describeError, TargetError } from '../targets/errors';
import { backoffDelay } from '../delayed-queue/backoff';
import { dlqDisabled } from '../delayed-queue/metrics';
import { rootLogger, type Logger } from '../observability/logger';
import { deadLetterHeaders, type DeadLetterKind } from '../wire/dlq';
import { INTAKE_HEADERS } from '../wire/headers';
import { chunkCodecOf, type ChunkCodec, type ChunkRecord } from './chunk-codec';
import { ChunkQueue, type QueuedChunk } from './chunk-queue';
import type { TxnEvent } from './events';
import { txnEventRecord } from './fanout-processor';
import { applyRetries, chunksDeadLettered, heldChunks, mutationsApplied } from './metrics';
import { APPLIER_COMPLETIONS_SINK, APPLIER_DLQ_SINK, HELD_STORE } from './names';
import { redriveHeaders, redriveRequest } from './redrive';

export interface ApplierProcessorOptions {
  readonly namespace: NamespaceConfig;
  readonly clusters: Record<string, ClusterConfig>;
  /** Chunks read before they are applied without waiting for the task's flush (default DEFAULT_APPLY_BATCH_CHUNKS). */
  readonly batchSize?: number;
  /** Most mutations consecutive chunks may add up to when applied in one call (default DEFAULT_MAX_MUTATIONS_PER_APPLY). */
  readonly maxMutationsPerApply?: number;
  /** Held chunks a target may apply per punctuation, so that commits are not held up (default 500). */
  readonly maxPerPunctuation?: number;
  readonly random?: () => number;
  /** How targets are made (default: createTarget from src/targets). */
  readonly targetFactory?: (name: string) => Target;
  /** Avro codec (default: one over the namespace cluster's registry). */
  readonly codec?: AvroCodec;
  readonly logger?: Logger;
}

/** Chunks read before they are applied without waiting for the task's flush. */
export const DEFAULT_APPLY_BATCH_CHUNKS = 200;
/** Rows of one upsert: past ~1000, PostgreSQL's binary-array upserts measured no faster per row (bench/fanout.ts). */
export const DEFAULT_MAX_MUTATIONS_PER_APPLY = 1000;

type Outcome = 'done' | 'held';

/**
 * Applies chunks from the per-target topics to their targets, one target's chunks in order, and
 * reports each chunk's outcome to the transaction tracker. Reads are applied at the latest when the
 * task flushes, so a chunk's offset is committed only after its target answered. A retriable failure
 * holds the chunk, and every later chunk of that target, in a changelogged FIFO (ChunkQueue) and
 * retries it with the namespace's backoff; once maxRetries is spent, or at once for a permanent
 * failure, the chunk is dead-lettered as a re-drivable intake request and reported failed. With the
 * namespace's DLQ disabled, such a chunk stays at the head of its target's queue and is tried again at
 * the longest backoff (`dlq.onDisabled: retain`, the default), or is dropped with a warning (`drop`).
 */
export class ApplierProcessor implements Processor {
  private context!: ProcessorContext;
  private codec!: ChunkCodec;
  private queue!: ChunkQueue;
  private readonly targets = new Map<string, Target>();
  private readonly targetOfTopic: Map<string, string>;
  private readonly held = new Set<string>();
  private readonly pending: Array<{ target: string; chunk: QueuedChunk }> = [];
  private readonly batchSize: number;
  private readonly random: () => number;
  private readonly logger: Logger;

  constructor(private readonly options: ApplierProcessorOptions) {
    this.logger = (options.logger ?? rootLogger()).child({ component: 'applier', namespace: options.namespace.name });
    this.batchSize = options.batchSize ?? DEFAULT_APPLY_BATCH_CHUNKS;
    this.random = options.random ?? Math.random;
    this.targetOfTopic = new Map(Object.entries(options.namespace.topics.targets).map(([target, topic]) => [topic, target]));
  }

  async init(context: ProcessorContext): Promise<void> {
    this.context = context;
    const { namespace, clusters } = this.options;
    this.codec = chunkCodecOf(this.options.codec ?? createAvroCodec(registryOf(clusters[namespace.cluster])));
    this.queue = new ChunkQueue(context.getStore(HELD_STORE));
    for (const target of Object.keys(namespace.targets)) {
      if (!(await this.queue.isEmpty(target))) this.held.add(target);
      await this.reportHeld(target);
    }
    context.schedule(namespace.runtime.punctuationIntervalMs, () => this.punctuate());
  }

  async process(record: WalRecord): Promise<void> {
    const chunk: QueuedChunk = {
      attempts: 0,
      source: { topic: record.topic, partition: record.partition, offset: record.offset },
      key: record.key,
      headers: record.headers,
      value: record.value ?? Buffer.alloc(0),
    };
    const target = this.targetOfTopic.get(record.topic);
    if (target === undefined) {
      this.deadLetterRaw(chunk, '', 'poison', `topic ${record.topic} is not the topic of any target of namespace ${this.options.namespace.name}`);
      return;
    }
    this.pending.push({ target, chunk });
    if (this.pending.length >= this.batchSize) await this.applyPending();
  }

  async flush(): Promise<void> {
    await this.applyPending();
  }

  async close(): Promise<void> {
    const targets = [...this.targets.values()];
    this.targets.clear();
    await Promise.allSettled(targets.map((t) => t.close()));
  }

  private async applyPending(): Promise<void> {
    if (this.pending.length === 0) return;
    const byTarget = new Map<string, QueuedChunk[]>();
    for (const { target, chunk } of this.pending.splice(0, this.pending.length)) {
      let list = byTarget.get(target);
      if (!list) byTarget.set(target, (list = []));
      list.push(chunk);
    }
    // Targets in parallel; one target's chunks strictly in order.
    await Promise.all(
      [...byTarget].map(async ([target, chunks]) => {
        await this.applyInOrder(target, chunks);
        await this.reportHeld(target);
      }),
    );
  }

  /**
   * A target's chunks in arrival order. Consecutive chunks go to PostgreSQL or Redis in one call (one
   * statement or script: still atomic, still sequence-guarded), or to memcached or Cassandra (not atomic, but each
   * key sequence-guarded, so applying a run again is harmless), which saves a round trip per chunk;
   * when such a call fails, its chunks are tried one by one so that retries, the DLQ and the outcomes
   * reported stay per chunk. Kafka targets label each record with its chunk, so they get one call each.
   */
  private async applyInOrder(target: string, chunks: QueuedChunk[]): Promise<void> {
    const type = this.options.namespace.targets[target]?.type;
    const coalesce = type === 'postgres' || type === 'redis' || type === 'memcached' || type === 'cassandra';
    let singlesUntil = 0;
    for (let i = 0; i < chunks.length; ) {
      if (this.held.has(target)) {
        await this.queue.push(target, chunks[i]);
        i += 1;
        continue;
      }
      if (coalesce && i >= singlesUntil) {
        const run = await this.decodeRun(chunks, i);
        if (run.length > 1) {
          if (await this.applyRun(target, run)) {
            i += run.length;
            continue;
          }
          singlesUntil = i + run.length;
        }
      }
      await this.attempt(target, chunks[i]);
      i += 1;
    }
  }

  /** Consecutive chunks from `start` that decode, up to maxMutationsPerApply mutations in all. */
  private async decodeRun(chunks: QueuedChunk[], start: number): Promise<Array<{ chunk: QueuedChunk; record: ChunkRecord }>> {
    const limit = this.options.maxMutationsPerApply ?? DEFAULT_MAX_MUTATIONS_PER_APPLY;
    const run: Array<{ chunk: QueuedChunk; record: ChunkRecord }> = [];
    let mutations = 0;
    for (let i = start; i < chunks.length; i += 1) {
      const record = await this.codec.decode(chunks[i].value).catch(() => undefined);
      if (!record || (run.length > 0 && mutations + record.mutations.length > limit)) break;
      run.push({ chunk: chunks[i], record });
      mutations += record.mutations.length;
    }
    return run;
  }

  private async applyRun(target: string, run: Array<{ chunk: QueuedChunk; record: ChunkRecord }>): Promise<boolean> {
    const first = run[0].record;
    const merged: ChunkRecord = { ...first, mutations: run.flatMap((r) => r.record.mutations) };
    if (!(await this.apply(target, merged)).ok) return false;
    const now = this.context.now();
    for (const { chunk, record } of run) {
      this.report({ kind: 'applied', txnId: record.txnId, target, chunkIndex: record.chunkIndex, chunkCount: record.chunkCount, attempts: chunk.attempts + 1, at: now });
    }
    mutationsApplied.inc({ namespace: this.options.namespace.name, target }, merged.mutations.length);
    return true;
  }

  private async punctuate(): Promise<void> {
    await this.applyPending();
    const limit = this.options.maxPerPunctuation ?? 500;
    await Promise.all(
      [...this.held].map(async (target) => {
        for (let i = 0; i < limit; i += 1) {
          if ((await this.queue.retryAt(target)) > this.context.now()) break;
          const head = await this.queue.head(target);
          if (!head) {
            this.held.delete(target);
            break;
          }
          if ((await this.attempt(target, head.chunk, head.key)) === 'held') break;
        }
        await this.reportHeld(target);
      }),
    );
  }

  /** One try of one chunk; `queuedKey` when it is the head of the target's queue. */
  private async attempt(target: string, chunk: QueuedChunk, queuedKey?: Buffer): Promise<Outcome> {
    let record: ChunkRecord | undefined;
    let result: DeliveryResult = failed(true, 'the chunk could not be read');
    try {
      record = await this.codec.decode(chunk.value);
    } catch (error) {
      if (!(error instanceof SerdeError && error.retriable)) {
        const now = this.context.now();
        const reason = describeError(error);
        if (this.retainsWithoutDlq()) return this.retain(target, { ...chunk, attempts: chunk.attempts + 1, firstFailureAt: chunk.firstFailureAt ?? now, lastFailureAt: now, lastError: reason }, queuedKey, 'poison');
        this.deadLetterRaw(chunk, target, 'poison', reason);
        if (queuedKey) await this.queue.remove(target, queuedKey);
        return 'done';
      }
      result = failed(true, describeError(error));
    }
    if (record) result = await this.apply(target, record);

    const ns = this.options.namespace;
    const now = this.context.now();
    const attempts = chunk.attempts + 1;
    if (result.ok && record) {
      this.report({ kind: 'applied', txnId: record.txnId, target, chunkIndex: record.chunkIndex, chunkCount: record.chunkCount, attempts, at: now });
      mutationsApplied.inc({ namespace: ns.name, target }, record.mutations.length);
      if (queuedKey) await this.queue.remove(target, queuedKey);
      return 'done';
    }
    const reason = result.ok ? 'applied, but the chunk could not be read' : result.reason;
    const failedChunk: QueuedChunk = { ...chunk, attempts, firstFailureAt: chunk.firstFailureAt ?? now, lastFailureAt: now, lastError: reason };
    const retriable = !result.ok && result.retriable;
    if (retriable && attempts <= ns.maxRetries) return this.hold(target, failedChunk, queuedKey, attempts);
    if (this.retainsWithoutDlq()) return this.retain(target, failedChunk, queuedKey, retriable ? 'exhausted' : 'permanent');
    if (!record) {
      this.deadLetterRaw(failedChunk, target, 'exhausted', reason);
    } else {
      const kind: DeadLetterKind = retriable ? 'exhausted' : 'permanent';
      try {
        await this.deadLetterChunk(failedChunk, record, target, kind, reason);
      } catch (error) {
        // The registry is away: the dead letter cannot be encoded yet; keep the chunk and try later.
        return this.hold(target, { ...failedChunk, lastError: `${reason}; dead-lettering failed: ${describeError(error)}` }, queuedKey, attempts);
      }
      this.report({ kind: 'failed', txnId: record.txnId, target, chunkIndex: record.chunkIndex, chunkCount: record.chunkCount, attempts, at: now, error: reason });
    }
    if (queuedKey) await this.queue.remove(target, queuedKey);
    return 'done';
  }

  private async hold(target: string, chunk: QueuedChunk, queuedKey: Buffer | undefined, attempts: number, delayMs?: number): Promise<Outcome> {
    const ns = this.options.namespace;
    if (queuedKey) await this.queue.replace(queuedKey, chunk);
    else await this.queue.push(target, chunk);
    this.held.add(target);
    await this.queue.setRetryAt(target, this.context.now() + (delayMs ?? backoffDelay(attempts, ns.backoff, this.random)));
    applyRetries.inc({ namespace: ns.name, target });
    return 'held';
  }

  /** With the DLQ disabled and `onDisabled: retain` (the default), nothing is dead-lettered nor dropped. */
  private retainsWithoutDlq(): boolean {
    const { dlq } = this.options.namespace;
    return !dlq.enabled && dlq.onDisabled !== 'drop';
  }

  /**
   * Keeps a chunk that would have been dead-lettered at the head of its target's queue, tried again at
   * the longest backoff: never a silent loss, and the target's later chunks stay behind it, in order.
   */
  private async retain(target: string, chunk: QueuedChunk, queuedKey: Buffer | undefined, kind: DeadLetterKind): Promise<Outcome> {
    const ns = this.options.namespace;
    dlqDisabled.inc({ namespace: ns.name, action: 'retained', backend: 'kafka' });
    this.logger.warn({ target, kind, reason: chunk.lastError, attempts: chunk.attempts, source: chunk.source }, 'DLQ disabled: chunk retained, tried again at the longest backoff');
    return this.hold(target, chunk, queuedKey, chunk.attempts, ns.backoff.maxMs);
  }

  /**
   * A dead letter with nowhere to go: `onDisabled: drop`, or a record on a topic of no target (nothing to
   * retain it for). Counted and logged with where it still can be read, never silently.
   */
  private dropWithoutDlq(chunk: QueuedChunk, target: string, kind: DeadLetterKind, reason: string): void {
    const { dlq, name } = this.options.namespace;
    dlqDisabled.inc({ namespace: name, action: 'dropped', backend: 'kafka' });
    this.logger.warn({ target, kind, reason, source: chunk.source, onDisabled: dlq.onDisabled ?? 'retain' }, 'DLQ disabled: chunk dropped (still readable at its source offset until the topic retention)');
  }

  private async apply(name: string, record: ChunkRecord): Promise<DeliveryResult> {
    if (record.target !== name) return failed(false, `chunk for target "${record.target}" arrived on the topic of target "${name}"`);
    try {
      const target = this.targetFor(name);
      if (!target.applyMutations) {
        return failed(false, `target "${name}" (${this.options.namespace.targets[name]?.type ?? 'unknown'}) cannot apply mutations`);
      }
      return await target.applyMutations({
        txnId: record.txnId,
        chunkIndex: record.chunkIndex,
        mutations: record.mutations.map((m) => ({ key: m.key, op: m.op, value: m.value, sequence: m.sequence })),
      });
    } catch (error) {
      // Targets answer delivery failures as results; what throws is their config (permanent) or a bug.
      return failed(!(error instanceof TargetError) || error.retriable, describeError(error));
    }
  }

  private targetFor(name: string): Target {
    let target = this.targets.get(name);
    if (!target) {
      const { namespace, clusters, targetFactory } = this.options;
      const config = namespace.targets[name];
      if (!config) throw new Error(`namespace ${namespace.name} has no target "${name}"`);
      target = targetFactory ? targetFactory(name) : createTarget(name, config, clusters);
      this.targets.set(name, target);
    }
    return target;
  }

  private report(event: TxnEvent): void {
    this.context.forward(txnEventRecord(event, this.options.namespace.partitions, event.at), APPLIER_COMPLETIONS_SINK);
  }

  /** A failed chunk as an intake request with its re-drive headers (see redrive.ts). */
  private async deadLetterChunk(chunk: QueuedChunk, record: ChunkRecord, target: string, kind: DeadLetterKind, reason: string): Promise<void> {
    const ns = this.options.namespace;
    chunksDeadLettered.inc({ namespace: ns.name, target, kind });
    if (!ns.dlq.enabled) return this.dropWithoutDlq(chunk, target, kind, reason);
    const now = this.context.now();
    const value = await this.codec.encodeRequest(ns.topics.intake, redriveRequest(ns, record, now));
    this.context.forward(
      {
        key: Buffer.from(record.txnId),
        value,
        timestamp: now,
        headers: deadLetterHeaders(
          { ...this.failureInfo(chunk, reason, kind, now), target, id: record.txnId },
          { ...chunk.headers, ...redriveHeaders(record), [INTAKE_HEADERS.id]: record.txnId, [INTAKE_HEADERS.namespace]: ns.name },
        ),
      },
      APPLIER_DLQ_SINK,
    );
  }

  /** A record that is no chunk at all goes to the DLQ as it came (replaying it cannot help). */
  private deadLetterRaw(chunk: QueuedChunk, target: string, kind: DeadLetterKind, reason: string): void {
    const ns = this.options.namespace;
    chunksDeadLettered.inc({ namespace: ns.name, target, kind });
    if (!ns.dlq.enabled) return this.dropWithoutDlq(chunk, target, kind, reason);
    const now = this.context.now();
    this.context.forward(
      { key: chunk.key, value: chunk.value, timestamp: now, headers: deadLetterHeaders({ ...this.failureInfo(chunk, reason, kind, now), target: target || undefined }, chunk.headers) },
      APPLIER_DLQ_SINK,
    );
  }

  private failureInfo(chunk: QueuedChunk, reason: string, kind: DeadLetterKind, now: number) {
    return { reason, kind, attempts: chunk.attempts, firstFailureAt: chunk.firstFailureAt ?? now, lastFailureAt: chunk.lastFailureAt ?? now, source: chunk.source };
  }

  private async reportHeld(target: string): Promise<void> {
    heldChunks.set({ namespace: this.options.namespace.name, target, partition: String(this.context.partition) }, await this.queue.size(target));
  }
}
