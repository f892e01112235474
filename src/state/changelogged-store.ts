import type { KeyValueStore, LocalIndex, RangeOptions } from './store';
import type { ChangelogWriter } from './changelog-writer';
import type { LevelStore, StoreWrite } from './level-store';

const cmp = (a: Buffer, b: Buffer): number => Buffer.compare(a, b);

/**
 * The store a processor sees. Writes go to an in-memory overlay and to the changelog buffer; the
 * overlay reaches LevelDB only at commit, after the changelog records are durable (Quix Streams'
 * partition transaction). So the files on disk never run ahead of the changelog, and after a crash
 * "checkpoint + changelog replay" is exact: no write is on disk that the changelog lacks.
 */
export class ChangeloggedStore implements KeyValueStore {
  private pending = new Map<string, StoreWrite>();

  constructor(
    readonly local: LevelStore,
    readonly changelog: ChangelogWriter | null,
    private readonly localIndex?: LocalIndex,
  ) {}

  get name(): string {
    return this.local.name;
  }

  /** Writes not yet applied to disk. */
  get pendingWrites(): number {
    return this.pending.size;
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    const hit = this.pending.get(key.toString('latin1'));
    if (hit) return hit.value ?? undefined;
    return this.local.get(key);
  }

  /** The overlay answers what it holds; the rest is read from disk in one batch. */
  async getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]> {
    const result: (Buffer | undefined)[] = new Array(keys.length);
    const missIndex: number[] = [];
    const missKeys: Buffer[] = [];
    keys.forEach((key, i) => {
      const hit = this.pending.get(key.toString('latin1'));
      if (hit) result[i] = hit.value ?? undefined;
      else {
        missIndex.push(i);
        missKeys.push(key);
      }
    });
    const fromDisk = await this.local.getMany(missKeys);
    missIndex.forEach((i, j) => (result[i] = fromDisk[j]));
    return result;
  }

  // No defensive copies: the caller hands the buffers over (KeyValueStore.put). Two copies a write
  // were a tenth of the delayed queue's store time.
  async put(key: Buffer, value: Buffer): Promise<void> {
    this.write(key, value);
  }

  async delete(key: Buffer): Promise<void> {
    this.write(key, null);
  }

  async *range(options: RangeOptions = {}): AsyncIterable<[Buffer, Buffer]> {
    const { gte, lt, reverse = false } = options;
    const limit = options.limit ?? -1;
    if (this.pending.size === 0) {
      yield* this.local.range(options);
      return;
    }
    const order = reverse ? (a: Buffer, b: Buffer) => cmp(b, a) : cmp;
    const overlay = [...this.pending.values()]
      .filter((w) => (gte === undefined || cmp(w.key, gte) >= 0) && (lt === undefined || cmp(w.key, lt) < 0))
      .sort((a, b) => order(a.key, b.key));
    let i = 0;
    let yielded = 0;
    const full = (): boolean => limit >= 0 && yielded >= limit;
    for await (const [key, value] of this.local.range({ gte, lt, reverse })) {
      while (i < overlay.length && order(overlay[i].key, key) < 0) {
        const w = overlay[i++];
        if (w.value !== null) {
          yield [w.key, w.value];
          if (++yielded && full()) return;
        }
      }
      if (i < overlay.length && order(overlay[i].key, key) === 0) {
        const w = overlay[i++];
        if (w.value === null) continue;
        yield [w.key, w.value];
      } else {
        yield [key, value];
      }
      if (++yielded && full()) return;
    }
    for (; i < overlay.length; i++) {
      const w = overlay[i];
      if (w.value === null) continue;
      yield [w.key, w.value];
      if (++yielded && full()) return;
    }
  }

  approximateSize(): Promise<number> {
    return this.local.approximateSize();
  }

  /** Applies the overlay to disk; call only once the changelog records of these writes are durable. */
  async applyPending(): Promise<void> {
    if (this.pending.size === 0) return;
    const writes = [...this.pending.values()];
    this.pending = new Map();
    await this.local.write(writes);
  }

  /** Drops unapplied writes (the output they belong to was not committed). */
  discardPending(): void {
    this.pending = new Map();
  }

  private write(key: Buffer, value: Buffer | null): void {
    this.pending.set(key.toString('latin1'), { key, value });
    if (!this.localIndex?.isIndexKey(key)) this.changelog?.append(key, value);
  }
}
