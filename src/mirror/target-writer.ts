import type { Kafka, Message, Producer, RecordMetadata } from 'kafkajs';
import { MAX_REQUEST_BYTES, messageBytes, splitByBytes } from '../kafka/request-size';
import { MirrorWriteError } from './errors';
import { Mutex } from 'async-mutex';
import type { SyncPair } from './offset-syncs';

/**
 * Writing source batches to the target. At-least-once: an idempotent producer, acks=all; the
 * source position is committed by the consumer only after this resolves. Exactly-once: a target
 * transaction holds the records and the new source positions of the batches fetched together (see
 * ExactlyOnceWriter and PositionStore).
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

/** One source batch on its way: announced when its eachBatch call starts, then delivered or released. */
export interface BatchSlot {
  /** Resolves once the batch is durable on the target; returns (source, target) offset pairs when the partition was preserved. */
  deliver(batch: OutgoingBatch): Promise<SyncPair[]>;
  /** The batch delivers nothing (all skipped, paused, stale): nobody waits for it. Harmless after deliver. */
  release(): void;
}

export interface TargetWriter {
  start(): Promise<void>;
  /** A source batch is being prepared (exactly-once: its transaction may wait for it to join). */
  announce(): BatchSlot;
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
export function pairsOf(batch: Pick<OutgoingBatch, 'targetTopic' | 'targetPartition' | 'sourceOffsets'>, from: number, to: number, meta: RecordMetadata[]): SyncPair[] {
  if (batch.targetPartition === undefined) return [];
  // A request of several batches acks each topic-partition once.
  const entry = meta.find((m) => m.partition === batch.targetPartition && m.topicName === batch.targetTopic);
  if (!entry || entry.baseOffset === undefined) return [];
  const base = BigInt(entry.baseOffset);
  const pairs: SyncPair[] = [];
  for (let i = from; i < to; i += SYNC_EVERY) pairs.push({ source: batch.sourceOffsets[i], target: base + BigInt(i - from) });
  if ((to - 1 - from) % SYNC_EVERY !== 0) pairs.push({ source: batch.sourceOffsets[to - 1], target: base + BigInt(to - 1 - from) });
  return pairs;
}

/** Messages [from, to) of a batch, pinned to its target partition when preserved. */
export function slice(batch: OutgoingBatch, from: number, to: number): Message[] {
  const messages = batch.messages.slice(from, to);
  return batch.targetPartition === undefined ? messages : messages.map((m) => ({ ...m, partition: batch.targetPartition }));
}

/**
 * The produce requests of several batches sent in one transaction, each a list of (batch index,
 * [from, to)) parts. A partition's records of one request form one record batch, which must stay
 * under the broker's limit (chunkByBytes), so request k carries chunk k of every partition-preserving
 * batch; a batch partitioned by key may share target partitions with another, its chunks go alone.
 */
export function requestsFor(batches: ReadonlyArray<Pick<OutgoingBatch, 'messages' | 'targetPartition'>>, maxBytes = MAX_REQUEST_BYTES): Array<Array<{ index: number; from: number; to: number }>> {
  const shared: Array<Array<{ index: number; from: number; to: number }>> = [];
  const alone: Array<Array<{ index: number; from: number; to: number }>> = [];
  batches.forEach((batch, index) => {
    chunkByBytes(batch.messages, maxBytes).forEach((chunk, k) => {
      if (batch.targetPartition === undefined) alone.push([{ index, ...chunk }]);
      else (shared[k] ??= []).push({ index, ...chunk });
    });
  });
  return [...shared, ...alone];
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

  announce(): BatchSlot {
    return { deliver: (batch) => this.deliver(batch), release: () => undefined };
  }

  private async deliver(batch: OutgoingBatch): Promise<SyncPair[]> {
    const send = async (): Promise<SyncPair[]> => {
      const pairs: SyncPair[] = [];
      for (const { from, to } of chunkByBytes(batch.messages)) {
        const messages = slice(batch, from, to);
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
