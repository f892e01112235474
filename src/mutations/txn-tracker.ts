import type { NamespaceConfig } from '../namespaces/types';
import { createLogger, type Logger } from '../observability/logger';
import type { KeyValueStore, Processor, ProcessorContext, WalRecord } from '../engine/api';
import { decodeTxnEvent, InvalidTxnEventError } from './events';
import { txnDuration, txnsCompleted, txnsFailed, txnsPending } from './metrics';
import { TXN_STORE } from './names';
import { applyTxnEvent, type TxnStatus } from './txn-status';
import { timeOrderedKey } from '../state/layouts';

export interface TxnTrackerOptions {
  readonly namespace: NamespaceConfig;
  /** How long a complete transaction stays queryable (default 7 days); failed ones stay until re-driven. */
  readonly retentionMs?: number;
  /** How often expired transactions are removed (default 60 s). */
  readonly expiryIntervalMs?: number;
}

export const DEFAULT_TXN_RETENTION_MS = 7 * 24 * 3600 * 1000;

// Store keys: 's' + txn id → TxnStatus JSON (what `wal txn status` reads from the changelog);
// 'x' + completedAt (8 bytes big-endian) + txn id → empty, so expiry is a range scan.
const STATUS = 0x73;
const EXPIRY = 0x78;

export function txnStatusKey(txnId: string): Buffer {
  return Buffer.concat([Buffer.from([STATUS]), Buffer.from(txnId)]);
}


/**
 * Joins the fan-out's "begin" events and the appliers' chunk outcomes per transaction. States change
 * in memory while a batch is processed and reach the store (and its changelog, the txn-status topic)
 * once per flush, so a transaction of a hundred chunks costs a few changelog records, not a hundred.
 */
export class TxnTracker implements Processor {
  private store!: KeyValueStore;
  private readonly dirty = new Map<string, { before: TxnStatus | undefined; after: TxnStatus }>();
  private readonly logger: Logger;
  /** This task's share of `wal_txn_pending`: stored transactions in state pending. */
  private pending = 0;

  constructor(private readonly options: TxnTrackerOptions) {
    this.logger = createLogger({ component: 'txn-tracker', namespace: options.namespace.name });
  }

  async init(context: ProcessorContext): Promise<void> {
    this.store = context.getStore(TXN_STORE);
    context.schedule(this.options.expiryIntervalMs ?? 60_000, (now) => this.expire(now));
    // The store was restored before init: count what it holds pending, so the gauge survives a
    // restart or a partition moving to this instance.
    let pending = 0;
    for await (const [, value] of this.store.range({ gte: Buffer.from([STATUS]), lt: Buffer.from([STATUS + 1]) })) {
      if ((JSON.parse(value.toString('utf8')) as TxnStatus).status === 'pending') pending += 1;
    }
    this.addPending(pending);
  }

  close(): void {
    // Whatever the task wrote since its last commit may be discarded: the next owner counts afresh.
    this.addPending(-this.pending);
  }

  private addPending(delta: number): void {
    if (delta === 0) return;
    this.pending += delta;
    if (delta > 0) txnsPending.inc({ namespace: this.options.namespace.name }, delta);
    else txnsPending.dec({ namespace: this.options.namespace.name }, -delta);
  }

  async process(record: WalRecord): Promise<void> {
    let event;
    try {
      event = decodeTxnEvent(record.value);
    } catch (error) {
      if (!(error instanceof InvalidTxnEventError)) throw error;
      // Only wal writes this topic: a bad record is a bug or a foreign producer, not a reason to stop.
      this.logger.warn({ partition: record.partition, offset: record.offset, err: error.message }, 'skipping an unreadable completion record');
      return;
    }
    const seen = this.dirty.get(event.txnId);
    const before = seen ? seen.before : await this.load(event.txnId);
    this.dirty.set(event.txnId, { before, after: applyTxnEvent(seen?.after ?? before, event) });
  }

  async flush(): Promise<void> {
    if (this.dirty.size === 0) return;
    const ns = this.options.namespace.name;
    const changed = [...this.dirty.values()];
    this.dirty.clear();
    for (const { before, after } of changed) {
      await this.store.put(txnStatusKey(after.txnId), Buffer.from(JSON.stringify(after)));
      if (before?.completedAt) await this.store.delete(timeOrderedKey(EXPIRY, before.completedAt, after.txnId));
      if (after.completedAt !== null) await this.store.put(timeOrderedKey(EXPIRY, after.completedAt, after.txnId), Buffer.alloc(0));
      this.addPending((after.status === 'pending' ? 1 : 0) - (before?.status === 'pending' ? 1 : 0));
      if (after.status === 'failed' && before?.status !== 'failed') txnsFailed.inc({ namespace: ns });
      if (after.status === 'complete' && before?.status !== 'complete') {
        txnsCompleted.inc({ namespace: ns });
        if (after.writeTime !== null && after.completedAt !== null) txnDuration.observe({ namespace: ns }, Math.max(0, after.completedAt - after.writeTime) / 1000);
      }
    }
  }

  /** The stored state of a transaction of this task's partition. */
  async load(txnId: string): Promise<TxnStatus | undefined> {
    const stored = await this.store.get(txnStatusKey(txnId));
    return stored ? (JSON.parse(stored.toString('utf8')) as TxnStatus) : undefined;
  }

  /** Forgets complete transactions past their retention (a tombstone on the txn-status topic). */
  private async expire(now: number): Promise<void> {
    const cutoff = now - (this.options.retentionMs ?? DEFAULT_TXN_RETENTION_MS);
    if (cutoff <= 0) return;
    const expired: Buffer[] = [];
    for await (const [key] of this.store.range({ gte: Buffer.from([EXPIRY]), lt: timeOrderedKey(EXPIRY, cutoff, ''), limit: 1000 })) expired.push(key);
    for (const key of expired) {
      await this.store.delete(key);
      await this.store.delete(txnStatusKey(key.subarray(9).toString()));
    }
    if (expired.length > 0) this.logger.debug({ expired: expired.length }, 'expired complete transactions');
  }
}
