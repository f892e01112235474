/**
 * When the exactly-once writer commits its open transaction (pure; time passed in). Source batches
 * fetched together (one fetch response, one eachBatch call per partition) share a transaction, so
 * its round trips (AddPartitionsToTxn, the position records, EndTxn) are paid once for all of them,
 * as Kafka Streams commits all tasks of a stream thread in one transaction. A partition's next batch
 * waits for that commit: a transaction never outlives the eachBatch calls that filled it, so a
 * rebalance always finds it committed (see ExactlyOnceWriter).
 */

export interface CommitPolicy {
  /** Longest the first batch of a transaction waits for announced batches to join it (a slow one joins the next). */
  readonly lingerMs: number;
  /** Records at which a transaction is committed without waiting for more batches. */
  readonly maxRecords: number;
}

export const DEFAULT_COMMIT_POLICY: CommitPolicy = { lingerMs: 100, maxRecords: 100_000 };

export interface OpenTransaction {
  /** Batches that joined. */
  readonly joined: number;
  /** Batches announced (being prepared) that neither joined nor said they deliver nothing. */
  readonly announced: number;
  readonly records: number;
  readonly openedAt: number;
}

/** Milliseconds until the transaction should be committed: 0 = now. */
export function commitDelay(txn: OpenTransaction, now: number, policy: CommitPolicy): number {
  if (txn.joined === 0) return Infinity;
  if (txn.announced <= 0 || txn.records >= policy.maxRecords) return 0;
  return Math.max(0, txn.openedAt + policy.lingerMs - now);
}
