import { randomUUID } from 'node:crypto';
import { AssignerProtocol, type Consumer, type Kafka, type KafkaMessage, type PartitionAssigner } from 'kafkajs';

/**
 * A single-partition topic followed from its start for as long as it is open: Kafka Connect's
 * KafkaBasedLog, which keeps Connect's config, offset and status topics in memory. One long-lived
 * consumer (a private group that never commits, handed partition 0 by its own assigner) passes
 * every record to `onRecord`, in order; `readToEnd` waits until everything written before the call
 * has been passed on, which is how a writer reads its own write.
 */
export interface TopicLogOptions {
  readonly topic: string;
  readonly onRecord: (message: KafkaMessage) => void;
  /** Client id suffix in broker logs. */
  readonly label?: string;
}

function partitionZero(topic: string): PartitionAssigner {
  return () => ({
    name: 'WalTopicLogAssigner',
    version: 0,
    async assign({ members }) {
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: i === 0 ? { [topic]: [0] } : {}, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return { name: 'WalTopicLogAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
    },
  });
}

export class TopicLogError extends Error {
  override readonly name = 'TopicLogError';
}

export class TopicLog {
  private consumer?: Consumer;
  /** Next offset to pass on. */
  private position = 0n;
  private waiters: Array<{ until: bigint; resolve: () => void }> = [];
  private crashed?: Error;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: TopicLogOptions,
  ) {}

  get topic(): string {
    return this.options.topic;
  }

  /** Joins and starts passing records on; `readToEnd` tells when the history is in. */
  async start(): Promise<void> {
    const { topic } = this.options;
    const consumer = this.kafka.consumer({
      groupId: `wal-log-${this.options.label ?? 'reader'}-${randomUUID()}`,
      partitionAssigners: [partitionZero(topic)],
      maxWaitTimeInMs: 250,
      readUncommitted: false,
    });
    this.consumer = consumer;
    // Seek on every join: a restarted group object forgets earlier seeks (see partition-reader.ts).
    consumer.on(consumer.events.GROUP_JOIN, () => {
      try {
        consumer.seek({ topic, partition: 0, offset: this.position.toString() });
      } catch {
        // Not assigned yet: the next join seeks.
      }
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === topic && payload.partition === 0) this.advance(BigInt(payload.lastOffset) + 1n);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.crashed = payload.error;
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.partition !== 0) return;
        for (const message of batch.messages) {
          if (BigInt(message.offset) < this.position) continue;
          this.options.onRecord(message);
          this.advance(BigInt(message.offset) + 1n);
        }
      },
    });
  }

  /** Resolves once every record written before the call has been passed to `onRecord`. */
  async readToEnd(timeoutMs = 20_000): Promise<void> {
    if (this.crashed) throw new TopicLogError(`following ${this.topic} stopped: ${this.crashed.message}`);
    const admin = this.kafka.admin();
    await admin.connect();
    let end: bigint;
    try {
      const offsets = await admin.fetchTopicOffsets(this.topic);
      end = BigInt(offsets.find((o) => o.partition === 0)?.high ?? '0');
    } finally {
      await admin.disconnect();
    }
    if (this.position >= end) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push({ until: end, resolve })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new TopicLogError(`reading ${this.topic} to offset ${end} took over ${timeoutMs} ms (at ${this.position})`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect().catch(() => undefined);
  }

  private advance(next: bigint): void {
    if (next <= this.position) return;
    this.position = next;
    const ready = this.waiters.filter((w) => w.until <= next);
    this.waiters = this.waiters.filter((w) => w.until > next);
    for (const w of ready) w.resolve();
  }
}
