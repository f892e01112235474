import type { Kafka, Producer } from 'kafkajs';
import { readPartitionRange } from '../kafka/partition-reader';

/**
 * The DLQ's ledger: which dead letters were replayed or purged. Kafka cannot delete a record in the
 * middle of a partition (deleteRecords only cuts a prefix), so both are marks on a compacted topic
 * beside the DLQ, keyed by the dead letter's `<partition>:<offset>`. A purge never deletes what its
 * filter did not select: only a partition's contiguous prefix of marked records is ever cut.
 */

/** A topic of the DLQ (the DLQ or its marks) does not exist; creating the namespace's topics helps, a retry does not. */
export class DlqTopicMissingError extends Error {
  readonly retriable = false;
  constructor(readonly topic: string) {
    super(`topic ${topic} does not exist: create the namespace's topics with \`wal topics apply\` (or \`wal start --create-topics\`)`);
    this.name = 'DlqTopicMissingError';
  }
}

export type MarkAction = 'replayed' | 'purged';

export interface DlqMark {
  readonly action: MarkAction;
  /** ISO instant of the mark. */
  readonly at: string;
  /** Who marked: `cli` or the API key id. */
  readonly by?: string;
  /** The filters of the replay or purge, as given. */
  readonly filter?: Readonly<Record<string, unknown>>;
  /** The target a replay was sent to, when it overrode the request's own. */
  readonly toTarget?: string;
}

export interface PartitionBounds {
  readonly partition: number;
  /** First offset still in the partition (the low watermark). */
  readonly low: bigint;
  /** The offset the next record gets (the high watermark). */
  readonly high: bigint;
}

export function markKey(partition: number, offset: string | bigint | number): string {
  return `${partition}:${offset}`;
}

function parseMarkKey(key: string): { partition: number; offset: bigint } | undefined {
  const match = /^(\d+):(\d+)$/.exec(key);
  return match ? { partition: Number(match[1]), offset: BigInt(match[2]) } : undefined;
}

/**
 * Dead letters not yet replayed or purged: the records each partition holds (high − low) minus the
 * marks on offsets still in it. Marks below the low watermark name records retention or a purge
 * already removed, so they no longer count. Transaction markers of an exactly-once namespace occupy
 * offsets too, so there the figure is an upper bound.
 */
export function depthOf(bounds: readonly PartitionBounds[], marks: ReadonlyMap<string, DlqMark>): number {
  const byPartition = new Map(bounds.map((b) => [b.partition, b]));
  let depth = bounds.reduce((sum, b) => sum + Number(b.high - b.low), 0);
  for (const key of marks.keys()) {
    const at = parseMarkKey(key);
    const partition = at && byPartition.get(at.partition);
    if (partition && at.offset >= partition.low && at.offset < partition.high) depth -= 1;
  }
  return Math.max(0, depth);
}

/** Marks that name records no longer in the DLQ (below the low watermark, or of a partition it lacks). */
export function staleMarks(bounds: readonly PartitionBounds[], marks: ReadonlyMap<string, DlqMark>): string[] {
  const byPartition = new Map(bounds.map((b) => [b.partition, b]));
  return [...marks.keys()].filter((key) => {
    const at = parseMarkKey(key);
    const partition = at && byPartition.get(at.partition);
    return !partition || at.offset < partition.low;
  });
}

/**
 * The end of a partition's contiguous prefix of marked records: the first offset from `low` that is
 * not marked (or `high`). Everything below it may be deleted; an unmarked record stops it, whatever
 * is marked after it.
 */
export function markedPrefixEnd(bounds: PartitionBounds, isMarked: (offset: bigint) => boolean): bigint {
  let end = bounds.low;
  while (end < bounds.high && isMarked(end)) end += 1n;
  return end;
}

/**
 * The marks of one DLQ, read incrementally: the position in the marks topic and the marks read so
 * far stay in memory, so a refresh reads only what was added since.
 */
export class DlqLedger {
  private position = 0n;
  private readonly marks = new Map<string, DlqMark>();
  private producer?: Producer;

  constructor(
    private readonly kafka: Kafka,
    readonly dlqTopic: string,
    readonly marksTopic: string,
  ) {}

  /** Reads the marks written since the last refresh; answers every mark known. */
  async refresh(): Promise<ReadonlyMap<string, DlqMark>> {
    const [bounds] = await this.bounds(this.marksTopic);
    // Compaction or retention may have removed what was below the position we knew.
    const from = this.position < bounds.low ? bounds.low : this.position;
    await readPartitionRange(this.kafka, {
      topic: this.marksTopic,
      partition: 0,
      from: from.toString(),
      until: bounds.high.toString(),
      stallTimeoutMs: 30_000,
      onStall: (position) => new Error(`reading ${this.marksTopic} made no progress for 30 s at offset ${position}`),
      onRecords: async (messages) => {
        for (const m of messages) {
          const key = m.key?.toString();
          if (!key) continue;
          if (m.value === null || m.value.length === 0) this.marks.delete(key);
          else this.marks.set(key, JSON.parse(m.value.toString()) as DlqMark);
        }
      },
    });
    this.position = bounds.high > this.position ? bounds.high : this.position;
    return this.marks;
  }

  markOf(partition: number, offset: string): DlqMark | undefined {
    return this.marks.get(markKey(partition, offset));
  }

  /** Writes one mark per record, acknowledged by every in-sync replica before it returns. */
  async mark(records: ReadonlyArray<{ readonly partition: number; readonly offset: string }>, mark: DlqMark): Promise<void> {
    if (records.length === 0) return;
    const value = JSON.stringify(mark);
    await this.send(records.map((r) => ({ key: markKey(r.partition, r.offset), value })));
    for (const r of records) this.marks.set(markKey(r.partition, r.offset), mark);
  }

  /** The DLQ's partitions with their low and high watermarks. */
  async dlqBounds(): Promise<PartitionBounds[]> {
    return this.bounds(this.dlqTopic);
  }

  /**
   * Dead letters not replayed or purged; marks of records no longer in the DLQ are tombstoned on the
   * way, so the marks topic stays as small as the DLQ.
   */
  async depth(): Promise<{ depth: number; bounds: PartitionBounds[] }> {
    await this.refresh();
    const bounds = await this.dlqBounds();
    await this.forgetStale(bounds);
    return { depth: depthOf(bounds, this.marks), bounds };
  }

  /**
   * Deletes each DLQ partition's contiguous prefix of marked records (deleteRecords), never an
   * unmarked one. Answers the partitions it cut, with their new low watermark.
   */
  async deleteMarkedPrefix(): Promise<Array<{ partition: number; upTo: string }>> {
    const bounds = await this.dlqBounds();
    const cuts = bounds
      .map((b) => ({ partition: b.partition, end: markedPrefixEnd(b, (offset) => this.marks.has(markKey(b.partition, offset))), low: b.low }))
      .filter((c) => c.end > c.low)
      .map((c) => ({ partition: c.partition, upTo: c.end.toString() }));
    if (cuts.length > 0) {
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        // kafkajs' deleteTopicRecords needs the topic's metadata loaded, which fetching its offsets does.
        await admin.fetchTopicOffsets(this.dlqTopic);
        await admin.deleteTopicRecords({ topic: this.dlqTopic, partitions: cuts.map((c) => ({ partition: c.partition, offset: c.upTo })) });
      } finally {
        await admin.disconnect();
      }
      await this.forgetStale(await this.dlqBounds());
    }
    return cuts;
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
  }

  private async forgetStale(bounds: readonly PartitionBounds[]): Promise<void> {
    const stale = staleMarks(bounds, this.marks);
    if (stale.length === 0) return;
    await this.send(stale.map((key) => ({ key, value: null })));
    for (const key of stale) this.marks.delete(key);
  }

  private async send(messages: Array<{ key: string; value: string | null }>): Promise<void> {
    if (!this.producer) {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      this.producer = producer;
    }
    for (let i = 0; i < messages.length; i += 1000) {
      await this.producer.send({ topic: this.marksTopic, acks: -1, messages: messages.slice(i, i + 1000) });
    }
  }

  private async bounds(topic: string): Promise<PartitionBounds[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      // Asked first: kafkajs retries an unknown topic for many seconds before it says so.
      if (!(await admin.listTopics()).includes(topic)) throw new DlqTopicMissingError(topic);
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) })).sort((a, b) => a.partition - b.partition);
    } finally {
      await admin.disconnect();
    }
  }
}
