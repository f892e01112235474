import type { KeyValueStore, LocalIndex } from '../engine/api';
import { decodeHeldRecord, encodeHeldRecord, readU64, taggedKey, timeOrderedKey, u64, type Attempts, type HeldRecord } from '../state/layouts';

/**
 * A pending delivery as the timer store keeps it: the original intake record (bytes, for the DLQ
 * and for re-decoding at fire time) plus the retry bookkeeping.
 */
export interface TimerEntry extends HeldRecord, Attempts {
  readonly id: string;
  readonly dueAt: number;
}

// Key layout (one store, one changelog):
//   't' + dueAt (8 bytes big-endian) + id → entry   range scan < now yields due timers in due order
//   'i' + id                              → dueAt   finds a pending id for dedup and cancel
//   'm' + name                            → value   small metadata (pause flag, pending count)
// An entry is encodeHeldRecord's layout (state/layouts): its bookkeeping as JSON, then the intake bytes.
// The 'i' index is local (timerIdIndex): only 't' and 'm' entries are changelogged.
const TIMER = 0x74;
const BY_ID = 0x69;
const META = 0x6d;

/** Whether a timer store key (as on its changelog) is a pending timer's entry: one per pending timer. */
export function isPendingTimerKey(key: Buffer): boolean {
  return key.length > 9 && key[0] === TIMER;
}

function idKey(id: string): Buffer {
  return taggedKey(BY_ID, id);
}

/**
 * The 'i' index as a local index of the timer store: a timer costs one changelog record when
 * scheduled and one when removed, not two each. A restore derives 'i' + id → dueAt from each 't'
 * key, and deletes it for a 't' tombstone (the key holds the id and due time).
 */
export const timerIdIndex: LocalIndex = {
  isIndexKey: (key) => key[0] === BY_ID,
  derive: (key, value) => (isPendingTimerKey(key) ? { key: idKey(key.subarray(9).toString()), value: value === null ? null : Buffer.from(key.subarray(1, 9)) } : null),
};

function metaKey(name: string): Buffer {
  return taggedKey(META, name);
}

/**
 * Timers on disk (LevelDB through a changelogged KeyValueStore): memory stays flat however many are
 * pending, and a task's timers move with its partition. One timer per id: scheduling an id that is
 * already pending keeps the first (idempotent writes), unless `replace` (a retry reschedules itself).
 */
export class TimerStore {
  private pending: number | undefined;
  private countDirty = false;
  private readonly flags = new Map<string, boolean>();

  constructor(private readonly store: KeyValueStore) {}

  /** Returns false when the id was already pending and nothing changed. */
  async schedule(entry: TimerEntry, options: { replace?: boolean } = {}): Promise<boolean> {
    const existing = await this.store.get(idKey(entry.id));
    if (existing && !options.replace) return false;
    if (existing) await this.store.delete(timeOrderedKey(TIMER, readU64(existing), entry.id));
    await this.write(entry);
    if (!existing) await this.adjustPending(1);
    return true;
  }

  /** Schedules an id the caller has just found not pending (`pendingAmong`): no lookup of its own. */
  async scheduleAbsent(entry: TimerEntry): Promise<void> {
    await this.write(entry);
    await this.adjustPending(1);
  }

  /** Which of `ids` are pending, in one read batch (the intake admits records a batch at a time). */
  async pendingAmong(ids: readonly string[]): Promise<Set<string>> {
    // Nothing pending (the count is exact: every schedule and remove moves it), nothing to read.
    if ((await this.pendingCount()) === 0) return new Set();
    const found = await this.store.getMany(ids.map(idKey));
    return new Set(ids.filter((_, i) => found[i] !== undefined));
  }

  async isPending(id: string): Promise<boolean> {
    return (await this.store.get(idKey(id))) !== undefined;
  }

  async get(id: string): Promise<TimerEntry | undefined> {
    const due = await this.store.get(idKey(id));
    if (!due) return undefined;
    const value = await this.store.get(timeOrderedKey(TIMER, readU64(due), id));
    return value ? decodeHeldRecord<TimerEntry>(value) : undefined;
  }

  /** Removes a pending timer (fired, dead-lettered or cancelled); false when none was pending. */
  async remove(id: string): Promise<boolean> {
    const due = await this.store.get(idKey(id));
    if (!due) return false;
    await this.store.delete(timeOrderedKey(TIMER, readU64(due), id));
    await this.store.delete(idKey(id));
    await this.adjustPending(-1);
    return true;
  }

  /** Timers due at or before `now`, earliest first, at most `limit`. */
  async due(now: number, limit: number): Promise<TimerEntry[]> {
    const entries: TimerEntry[] = [];
    const lt = timeOrderedKey(TIMER, now + 1, '');
    for await (const [, value] of this.store.range({ gte: Buffer.from([TIMER]), lt, limit })) {
      entries.push(decodeHeldRecord<TimerEntry>(value));
    }
    return entries;
  }

  /** The earliest pending due time, or undefined when nothing is pending. */
  async nextDueAt(): Promise<number | undefined> {
    for await (const [key] of this.store.range({ gte: Buffer.from([TIMER]), lt: Buffer.from([TIMER + 1]), limit: 1 })) {
      return readU64(key, 1);
    }
    return undefined;
  }

  async pendingCount(): Promise<number> {
    if (this.pending === undefined) {
      const stored = await this.store.get(metaKey('pending'));
      this.pending = stored ? Number(stored.readBigInt64BE(0)) : 0;
    }
    return this.pending;
  }

  /** Flags are read on every intake record: cached after the first read (only this object writes them). */
  async getFlag(name: string): Promise<boolean> {
    let on = this.flags.get(name);
    if (on === undefined) {
      const value = await this.store.get(metaKey(name));
      on = value !== undefined && value[0] === 1;
      this.flags.set(name, on);
    }
    return on;
  }

  async setFlag(name: string, on: boolean): Promise<void> {
    await this.store.put(metaKey(name), Buffer.from([on ? 1 : 0]));
    this.flags.set(name, on);
  }

  /**
   * Writes the pending count if it changed. The count moves with every schedule and remove; storing
   * it once per flush instead of per timer keeps a third of the changelog records out. Call before
   * the store's writes are committed (the processor's `flush`).
   */
  async flush(): Promise<void> {
    if (!this.countDirty || this.pending === undefined) return;
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64BE(BigInt(this.pending));
    await this.store.put(metaKey('pending'), buffer);
    this.countDirty = false;
  }

  private async write(entry: TimerEntry): Promise<void> {
    await this.store.put(timeOrderedKey(TIMER, entry.dueAt, entry.id), encodeHeldRecord(entry));
    await this.store.put(idKey(entry.id), u64(entry.dueAt));
  }

  private async adjustPending(delta: number): Promise<void> {
    this.pending = (await this.pendingCount()) + delta;
    this.countDirty = true;
  }
}
