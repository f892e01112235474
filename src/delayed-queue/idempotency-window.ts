import type { KeyValueStore, LocalIndex } from '../engine/api';
import { readU64, taggedKey, timeOrderedKey, u64 } from '../state/layouts';

// Key layout (store `ids`, changelogged like the timer store, so the window moves with its partition):
//   'a' + id                          → deliveredAt (8 bytes big-endian)  was this id delivered within the window?
//   'x' + expiresAt (8 bytes BE) + id → empty                             the sweep finds expired ids in order
// Only the 'a' entries go to the changelog: the 'x' index is local (windowIndex), derived on restore.
const ACCEPTED = 0x61;
const EXPIRY = 0x78;

// An expiry entry's value: shared, since a store keeps the buffers it is given and nothing writes into this one.
const EMPTY = Buffer.alloc(0);

function acceptedKey(id: string): Buffer {
  return taggedKey(ACCEPTED, id);
}

/**
 * The window's expiry index as a local index of its store: 'x' keys are not changelogged (one
 * changelog record per delivered id instead of two) and a restore derives them from the 'a' entries.
 */
export function windowIndex(windowMs: number): LocalIndex {
  return {
    isIndexKey: (key) => key[0] === EXPIRY,
    // A tombstone of an 'a' entry does not say its expiry: the sweep checks the 'a' entry, so a stale 'x' is only swept.
    derive: (key, value) =>
      key[0] === ACCEPTED && value?.length === 8
        ? { key: timeOrderedKey(EXPIRY, readU64(value) + windowMs, key.subarray(1).toString()), value: EMPTY }
        : null,
  };
}

/**
 * The ids a partition delivered (or handed to the fan-out) within the last `windowMs`: a second
 * write of one of them is a duplicate and is dropped (pending ids are in the timer store). On disk (LevelDB + changelog), so memory stays
 * flat however many ids are remembered, and the window survives restarts, rebalances and restores.
 * Outside the window an id is new again.
 */
export class IdempotencyWindow {
  constructor(
    private readonly store: KeyValueStore,
    readonly windowMs: number,
  ) {}

  get enabled(): boolean {
    return this.windowMs > 0;
  }

  /** Which of `ids` were accepted less than `windowMs` before `now`, in one read batch. */
  async seenAmong(ids: readonly string[], now: number): Promise<Set<string>> {
    if (!this.enabled || ids.length === 0) return new Set();
    const values = await this.store.getMany(ids.map(acceptedKey));
    const seen = new Set<string>();
    values.forEach((value, i) => {
      if (value && readU64(value) + this.windowMs > now) seen.add(ids[i]);
    });
    return seen;
  }

  async remember(id: string, now: number): Promise<void> {
    if (!this.enabled) return;
    await this.store.put(acceptedKey(id), u64(now));
    await this.store.put(timeOrderedKey(EXPIRY, now + this.windowMs, id), EMPTY);
  }

  /** Drops ids whose window ended at or before `now`, at most `limit` of them; returns how many expiry entries it read. */
  async sweep(now: number, limit: number): Promise<number> {
    if (!this.enabled) return 0;
    const expired: Buffer[] = [];
    for await (const [key] of this.store.range({ gte: Buffer.from([EXPIRY]), lt: timeOrderedKey(EXPIRY, now + 1, ''), limit })) expired.push(key);
    for (const key of expired) {
      const id = key.subarray(9).toString();
      const accepted = await this.store.get(acceptedKey(id));
      // An id accepted again since (new once its window ended) has a later expiry entry: keep it.
      if (accepted && readU64(accepted) + this.windowMs <= now) await this.store.delete(acceptedKey(id));
      await this.store.delete(key);
    }
    return expired.length;
  }
}
