import type { Kafka, Message, Producer, RecordMetadata } from 'kafkajs';
import { MAX_REQUEST_BYTES, messageBytes, splitByBytes } from '../kafka/request-size';
import { MirrorWriteError } from './errors';
import { Mutex } from 'async-mutex';
import type { SyncPair } from './offset-syncs';
import type { PositionStore } from './positions';

/**
 * Writing one source batch to the target. At-least-once: an idempotent producer, acks=all; the
 * source position is committed by the consumer only after this resolves. Exactly-once: one target
 * transaction holds the records and the new source position (see PositionStore).
 */

export interface OutgoingBatch {
  readonly sourceTopic: string;
  readonly sourcePartition: number;
  readonly targetTopic: string;
  /** Set when the target has this partition: partition preserved, offsets can be synced. */
  readonly targetPartition?: number;
  /** Already carrying the origin header; parallel to `sourceOffsets`. */
  readonly messages: Message[];
  readonly sourceOffsets: bigint[];
  /** Next source offset once this batch is done (skipped records included). */
  readonly next: bigint;
  /** Keeps the source consumer's group membership alive between produce requests of a large batch. */
  readonly heartbeat?: () => Promise<void>;
}

export interface TargetWriter {
  start(): Promise<void>;
  /** Resolves once the batch is durable on the target; returns (source, target) offset pairs when the partition was preserved. */
  deliver(batch: OutgoingBatch): Promise<SyncPair[]>;
  stop(): Promise<void>;
}

/** Index ranges [from, to) of `messages` that each fit one produce request (see kafka/request-size). */
export function chunkByBytes(messages: readonly Message[], maxBytes = MAX_REQUEST_BYTES): Array<{ from: number; to: number }> {
  const runs = splitByBytes(
    messages.map((_, i) => i),
    (i) => messageBytes(messages[i]),
    maxBytes,
  );
  return runs.map((run) => ({ from: run[0], to: run[run.length - 1] + 1 }));
}

/** Offset-sync sampling: one (source, target) pair every this many mirrored records, plus each request's last. */
export const SYNC_EVERY = 100;

/** The records of one produce request occupy base, base+1, … on the target partition, in order. */
export function pairsOf(batch: Pick<OutgoingBatch, 'targetPartition' | 'sourceOffsets'>, from: number, to: number, meta: RecordMetadata[]): SyncPair[] {
  if (batch.targetPartition === undefined) return [];
  const entry = meta.find((m) => m.partition === batch.targetPartition);
  if (!entry || entry.baseOffset === undefined) return [];
  const base = BigInt(entry.baseOffset);
  const pairs: SyncPair[] = [];
  for (let i = from; i < to; i += SYNC_EVERY) pairs.push({ source: batch.sourceOffsets[i], target: base + BigInt(i - from) });
  if ((to - 1 - from) % SYNC_EVERY !== 0) pairs.push({ source: batch.sourceOffsets[to - 1], target: base + BigInt(to - 1 - from) });
  return pairs;
}

export class AtLeastOnceWriter implements TargetWriter {
  private producer?: Producer;
  /** Sends to a partition chosen by key may land on the same target partition from several source partitions. */
  private readonly keyedLocks = new Map<string, Mutex>();

  constructor(private readonly kafka: Kafka) {}

  async start(): Promise<void> {
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
  }

  async deliver(batch: OutgoingBatch): Promise<SyncPair[]> {
    const send = async (): Promise<SyncPair[]> => {
      const pairs: SyncPair[] = [];
      for (const { from, to } of chunkByBytes(batch.messages)) {
        const messages = batch.messages.slice(from, to).map((m) => (batch.targetPartition === undefined ? m : { ...m, partition: batch.targetPartition }));
        try {
          const meta = await this.producer!.send({ topic: batch.targetTopic, acks: -1, messages });
          pairs.push(...pairsOf(batch, from, to, meta));
          await batch.heartbeat?.();
        } catch (error) {
          throw new MirrorWriteError(`producing to ${batch.targetTopic} failed: ${(error as Error).message}`, { cause: error });
        }
      }
      return pairs;
    };
    if (batch.targetPartition !== undefined) return send();
    let lock = this.keyedLocks.get(batch.targetTopic);
    if (!lock) this.keyedLocks.set(batch.targetTopic, (lock = new Mutex()));
    return lock.runExclusive(send);
  }

  async stop(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
  }
}

export class ExactlyOnceWriter implements TargetWriter {
  private producer?: Producer;
  private readonly lock = new Mutex();

  constructor(
    private readonly kafka: Kafka,
    private readonly transactionalId: string,
    private readonly positions: PositionStore,
  ) {}

  /** Initialising the transactional id fences an earlier incarnation and aborts its open transaction. */
  async start(): Promise<void> {
    this.producer = this.kafka.producer({ transactionalId: this.transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
  }

  deliver(batch: OutgoingBatch): Promise<SyncPair[]> {
    return this.lock.runExclusive(async () => {
      if (!this.producer) await this.start();
      const txn = await this.producer!.transaction();
      const pairs: SyncPair[] = [];
      try {
        for (const { from, to } of chunkByBytes(batch.messages)) {
          const messages = batch.messages.slice(from, to).map((m) => (batch.targetPartition === undefined ? m : { ...m, partition: batch.targetPartition }));
          pairs.push(...pairsOf(batch, from, to, await txn.send({ topic: batch.targetTopic, acks: -1, messages })));
          await batch.heartbeat?.();
        }
        await txn.send({ topic: this.positions.topic, acks: -1, messages: [this.positions.record(batch.sourceTopic, batch.sourcePartition, batch.next)] });
        await txn.commit();
      } catch (error) {
        await txn.abort().catch(async () => {
          // A producer whose abort fails (fenced, coordinator lost) is replaced before the next batch.
          const broken = this.producer;
          this.producer = undefined;
          await broken?.disconnect().catch(() => undefined);
        });
        throw new MirrorWriteError(`transaction to ${batch.targetTopic} failed: ${(error as Error).message}`, { cause: error });
      }
      this.positions.set(batch.sourceTopic, batch.sourcePartition, batch.next);
      return pairs;
    });
  }

  async stop(): Promise<void> {
    await this.lock.runExclusive(async () => {
      await this.producer?.disconnect().catch(() => undefined);
    });
  }
}
