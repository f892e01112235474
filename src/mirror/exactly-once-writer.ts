import type { Kafka, Producer } from 'kafkajs';
import { commitDelay, DEFAULT_COMMIT_POLICY, type CommitPolicy } from './commit-policy';
import { MirrorWriteError } from './errors';
import type { SyncPair } from './offset-syncs';
import type { PositionStore } from './positions';
import { pairsOf, requestsFor, slice, type BatchSlot, type OutgoingBatch, type TargetWriter } from './target-writer';

interface Member {
  readonly batch: OutgoingBatch;
  readonly resolve: (pairs: SyncPair[]) => void;
  readonly reject: (error: unknown) => void;
}

interface Gathering {
  readonly members: Member[];
  records: number;
  readonly openedAt: number;
  timer?: NodeJS.Timeout;
}

export interface ExactlyOnceWriterOptions {
  readonly kafka: Kafka;
  readonly transactionalId: string;
  readonly positions: PositionStore;
  readonly policy?: CommitPolicy;
  /** After each commit: how many source batches and records it held. */
  readonly onCommitted?: (batches: number, records: number) => void;
  readonly now?: () => number;
}

/**
 * Exactly-once: the records of the source batches fetched together and their new source positions
 * (PositionStore) go into one target transaction, committed once every announced batch joined (or
 * the commit policy says so). Each delivery resolves only after the commit, so the consumer resolves
 * a source offset only once it is committed on the target and a rebalance never finds a transaction
 * open: the positions live on the target with a per-instance transactional id, so a new owner of a
 * partition is not fenced by the group generation like Kafka Streams' EOS producer is (kafkajs has no
 * group metadata in TxnOffsetCommit, and the group lives on another cluster).
 */
export class ExactlyOnceWriter implements TargetWriter {
  private producer?: Producer;
  private readonly policy: CommitPolicy;
  private readonly now: () => number;
  /** Announced slots that neither joined nor were released. */
  private announced = 0;
  private gathering?: Gathering;
  /** kafkajs allows one open transaction per producer: commits run one after another. */
  private committing: Promise<void> = Promise.resolve();

  constructor(private readonly options: ExactlyOnceWriterOptions) {
    this.policy = options.policy ?? DEFAULT_COMMIT_POLICY;
    this.now = options.now ?? Date.now;
  }

  /** Initialising the transactional id fences an earlier incarnation and aborts its open transaction. */
  async start(): Promise<void> {
    this.producer = this.options.kafka.producer({ transactionalId: this.options.transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
  }

  announce(): BatchSlot {
    this.announced += 1;
    let open = true;
    const leave = (): void => {
      if (!open) return;
      open = false;
      this.announced -= 1;
    };
    return {
      deliver: (batch) => {
        leave();
        return this.join(batch);
      },
      release: () => {
        if (!open) return;
        leave();
        this.review();
      },
    };
  }

  async stop(): Promise<void> {
    await this.committing;
    await this.producer?.disconnect().catch(() => undefined);
  }

  private join(batch: OutgoingBatch): Promise<SyncPair[]> {
    const g = (this.gathering ??= { members: [], records: 0, openedAt: this.now() });
    return new Promise<SyncPair[]>((resolve, reject) => {
      g.members.push({ batch, resolve, reject });
      g.records += batch.messages.length;
      this.review();
    });
  }

  /** Commits the gathering transaction when the policy says so, or re-checks when its linger runs out. */
  private review(): void {
    const g = this.gathering;
    if (!g) return;
    clearTimeout(g.timer);
    const delay = commitDelay({ joined: g.members.length, announced: this.announced, records: g.records, openedAt: g.openedAt }, this.now(), this.policy);
    if (delay > 0) {
      if (Number.isFinite(delay)) (g.timer = setTimeout(() => this.review(), delay)).unref();
      return;
    }
    this.gathering = undefined;
    this.committing = this.committing.then(() => this.commit(g));
  }

  private async commit(g: Gathering): Promise<void> {
    try {
      const pairs = await this.transact(g.members.map((m) => m.batch));
      this.options.onCommitted?.(g.members.length, g.records);
      g.members.forEach((m, i) => m.resolve(pairs[i]));
    } catch (error) {
      for (const m of g.members) m.reject(error);
    }
  }

  private async transact(batches: OutgoingBatch[]): Promise<SyncPair[][]> {
    if (!this.producer) await this.start();
    const { positions } = this.options;
    const txn = await this.producer!.transaction();
    const pairs = batches.map((): SyncPair[] => []);
    try {
      // The positions ride in the first request: one AddPartitionsToTxn for every partition of the transaction.
      let first = [{ topic: positions.topic, messages: batches.map((b) => positions.record(b.sourceTopic, b.sourcePartition, b.next)) }];
      for (const request of requestsFor(batches)) {
        const topicMessages = [...first, ...request.map(({ index, from, to }) => ({ topic: batches[index].targetTopic, messages: slice(batches[index], from, to) }))];
        first = [];
        const meta = await txn.sendBatch({ acks: -1, topicMessages });
        for (const { index, from, to } of request) pairs[index].push(...pairsOf(batches[index], from, to, meta));
      }
      await txn.commit();
    } catch (error) {
      await txn.abort().catch(async () => {
        // A producer whose abort fails (fenced, coordinator lost) is replaced before the next transaction.
        const broken = this.producer;
        this.producer = undefined;
        await broken?.disconnect().catch(() => undefined);
      });
      const topics = [...new Set(batches.map((b) => b.targetTopic))].join(', ');
      throw new MirrorWriteError(`transaction to ${topics} failed: ${(error as Error).message}`, { cause: error });
    }
    for (const b of batches) positions.set(b.sourceTopic, b.sourcePartition, b.next);
    return pairs;
  }
}
