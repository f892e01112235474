import type { KeyValueStore } from '../engine/api';
import { decodeHeldRecord, encodeHeldRecord, type Attempts, type HeldRecord } from '../state/layouts';

/** A chunk record waiting for its target (its value as read from the target topic), with its retry bookkeeping. */
export type QueuedChunk = HeldRecord & Attempts;

// Key layout (one store, one changelog):
//   'q' + target + 0x00 + seq (8 bytes big-endian) → chunk   a FIFO per target, oldest first
//   'n' + target                                    → seq     next sequence number of that FIFO
//   'r' + target                                    → time    when the FIFO's head may be tried again
const QUEUE = 0x71;
const NEXT = 0x6e;
const RETRY_AT = 0x72;

function prefix(tag: number, target: string): Buffer {
  return Buffer.concat([Buffer.from([tag]), Buffer.from(target), Buffer.from([0])]);
}

function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/**
 * Chunks held back from a target, first in first out, on disk (a changelogged store, so they move
 * with the partition). Unlike the delayed queue's timer store, which orders by due time, order here
 * is arrival: while a target's head chunk waits out its backoff, every later chunk of that target
 * (and partition) waits behind it, so mutations of one key reach the target in the order they were
 * written, and an unreachable target sees one probe per backoff interval, not one per chunk.
 */
export class ChunkQueue {
  private readonly sizes = new Map<string, number>();

  constructor(private readonly store: KeyValueStore) {}

  /** Appends at the tail of `target`'s queue. */
  async push(target: string, chunk: QueuedChunk): Promise<void> {
    const size = await this.size(target);
    const nextKey = prefix(NEXT, target);
    const stored = await this.store.get(nextKey);
    const seq = stored ? stored.readBigUInt64BE(0) : 0n;
    await this.store.put(Buffer.concat([prefix(QUEUE, target), u64(seq)]), encodeHeldRecord(chunk));
    await this.store.put(nextKey, u64(seq + 1n));
    this.sizes.set(target, size + 1);
  }

  /** The oldest chunk of `target`, with the key to replace or remove it by. */
  async head(target: string): Promise<{ key: Buffer; chunk: QueuedChunk } | undefined> {
    const gte = prefix(QUEUE, target);
    const lt = Buffer.concat([gte.subarray(0, gte.length - 1), Buffer.from([1])]);
    for await (const [key, value] of this.store.range({ gte, lt, limit: 1 })) return { key, chunk: decodeHeldRecord<QueuedChunk>(value) };
    return undefined;
  }

  async replace(key: Buffer, chunk: QueuedChunk): Promise<void> {
    await this.store.put(key, encodeHeldRecord(chunk));
  }

  async remove(target: string, key: Buffer): Promise<void> {
    const size = await this.size(target);
    await this.store.delete(key);
    this.sizes.set(target, Math.max(0, size - 1));
  }

  async isEmpty(target: string): Promise<boolean> {
    return (await this.head(target)) === undefined;
  }

  /** Chunks queued for `target` (counted once per task by a scan, then kept up to date). */
  async size(target: string): Promise<number> {
    let size = this.sizes.get(target);
    if (size === undefined) {
      size = 0;
      const gte = prefix(QUEUE, target);
      const lt = Buffer.concat([gte.subarray(0, gte.length - 1), Buffer.from([1])]);
      for await (const _ of this.store.range({ gte, lt })) size += 1;
      this.sizes.set(target, size);
    }
    return size;
  }

  /** When `target`'s head may be tried again (0 = now). */
  async retryAt(target: string): Promise<number> {
    const stored = await this.store.get(prefix(RETRY_AT, target));
    return stored ? Number(stored.readBigUInt64BE(0)) : 0;
  }

  async setRetryAt(target: string, at: number): Promise<void> {
    await this.store.put(prefix(RETRY_AT, target), u64(Math.max(0, Math.floor(at))));
  }
}
