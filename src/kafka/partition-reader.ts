import { randomUUID } from 'node:crypto';
import { AssignerProtocol, Kafka, KafkaMessage, PartitionAssigner } from 'kafkajs';

/**
 * kafkajs has no `assign()`: a consumer always joins a group. To read chosen partitions from chosen
 * offsets we join a throw-away group whose assigner hands exactly those partitions to its single
 * member, seek them, and never commit.
 */
function pinnedAssigner(topic: string, partitions: number[]): PartitionAssigner {
  return () => ({
    name: 'WalPinnedAssigner',
    version: 0,
    async assign({ members }) {
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: i === 0 ? { [topic]: partitions } : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return { name: 'WalPinnedAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
    },
  });
}

export interface PartitionReadOptions {
  readonly topic: string;
  readonly partition: number;
  /** First offset to read. */
  readonly from: string;
  /** Stop once everything below this offset has been seen (e.g. the last stable offset at start). */
  readonly until: string;
  /** Called with each fetched batch's records, in order; awaited before the next. */
  readonly onRecords: (messages: KafkaMessage[]) => Promise<void>;
  /** Called once a second while reading (heartbeat of a surrounding consumer, progress logs). */
  readonly onTick?: (position: string) => Promise<void> | void;
  /** Fail when no progress is made for this long. */
  readonly stallTimeoutMs: number;
  readonly onStall: (position: string) => Error;
  readonly maxBytesPerPartition?: number;
}

/** Reads one partition from `from` up to `until` with read_committed isolation. */
export async function readPartitionRange(kafka: Kafka, options: PartitionReadOptions): Promise<void> {
  const { topic, partition } = options;
  const until = BigInt(options.until);
  if (BigInt(options.from) >= until) return;
  const consumer = kafka.consumer({
    groupId: `wal-reader-${randomUUID()}`,
    partitionAssigners: [pinnedAssigner(topic, [partition])],
    maxBytesPerPartition: options.maxBytesPerPartition ?? 8 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
    maxWaitTimeInMs: 250,
    readUncommitted: false,
    retry: { retries: 3 },
  });
  let position = BigInt(options.from);
  let lastProgress = Date.now();
  let settle!: (error?: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  // END_BATCH_PROCESS also reports batches that held only control records or aborted data.
  const advance = (next: bigint): void => {
    if (next > position) {
      position = next;
      lastProgress = Date.now();
    }
    if (position >= until) settle();
  };
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic && payload.partition === partition) advance(BigInt(payload.lastOffset) + 1n);
  });
  // Seek on every join, not once after run(): run() returns early when the first join fails (e.g.
  // "coordinator loading" on a fresh cluster) and kafkajs restarts with a new group object that has
  // forgotten any earlier seek; a join after a restart resumes from what was already read.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    try {
      consumer.seek({ topic, partition, offset: position.toString() });
    } catch (error) {
      settle(error instanceof Error ? error : new Error(String(error)));
    }
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) settle(payload.error);
  });
  const ticker = setInterval(() => {
    if (Date.now() - lastProgress > options.stallTimeoutMs) settle(options.onStall(position.toString()));
    else void Promise.resolve(options.onTick?.(position.toString())).catch(() => undefined);
  }, 1000);
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        if (batch.partition !== partition) return;
        const messages = inRange(batch.messages, position, until);
        if (messages.length > 0) await options.onRecords(messages);
        if (messages.length > 0) advance(BigInt(messages[messages.length - 1].offset) + 1n);
      },
    });
    await done;
  } finally {
    clearInterval(ticker);
    await consumer.disconnect().catch(() => undefined);
  }
}

/** The messages with `from <= offset < until`. Offsets ascend in a batch: only its ends are parsed. */
function inRange(messages: KafkaMessage[], from: bigint, until: bigint): KafkaMessage[] {
  let start = 0;
  let stop = messages.length;
  while (start < stop && BigInt(messages[start].offset) < from) start++;
  while (stop > start && BigInt(messages[stop - 1].offset) >= until) stop--;
  return start === 0 && stop === messages.length ? messages : messages.slice(start, stop);
}

/**
 * The first offset and the high watermark of one partition. kafkajs' admin lists offsets with
 * isolation level 0 (read_uncommitted), so `end` is the high watermark, not the last stable offset:
 * while a transaction is open on the partition, a read_committed reader of `[low, end)` waits for
 * it to end (up to its stall timeout). Tasks open their transactional producer before restoring,
 * which aborts their own previous transaction, so their changelogs have none open at that point.
 */
export async function partitionBounds(kafka: Kafka, topic: string, partition: number): Promise<{ low: string; end: string }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const entry = offsets.find((o) => o.partition === partition);
    if (!entry) throw new Error(`topic ${topic} has no partition ${partition}`);
    return { low: entry.low, end: entry.high };
  } finally {
    await admin.disconnect();
  }
}
