import type { KeyValueStore, RangeOptions } from './store';

/**
 * A KeyValueStore held in memory, keys ordered byte-wise like LevelDB's: what the topology test
 * driver gives processors instead of LevelDB + changelog. Keys and values are copied on the way in,
 * so a caller reusing its buffer cannot change what is stored.
 */
export class InMemoryStore implements KeyValueStore {
  /** Sorted by key (Buffer.compare). */
  private entries: [Buffer, Buffer][] = [];

  constructor(readonly name: string) {}

  async get(key: Buffer): Promise<Buffer | undefined> {
    const i = this.search(key);
    return i >= 0 ? this.entries[i][1] : undefined;
  }

  async getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  async put(key: Buffer, value: Buffer): Promise<void> {
    const entry: [Buffer, Buffer] = [Buffer.from(key), Buffer.from(value)];
    const i = this.search(key);
    if (i >= 0) this.entries[i] = entry;
    else this.entries.splice(-i - 1, 0, entry);
  }

  async delete(key: Buffer): Promise<void> {
    const i = this.search(key);
    if (i >= 0) this.entries.splice(i, 1);
  }

  /** Iterates a snapshot taken at the call, so writes during the iteration do not disturb it. */
  async *range(options: RangeOptions = {}): AsyncIterable<[Buffer, Buffer]> {
    const { gte, lt, limit = -1, reverse = false } = options;
    const from = gte === undefined ? 0 : this.lowerBound(gte);
    const to = lt === undefined ? this.entries.length : this.lowerBound(lt);
    const selected = this.entries.slice(from, Math.max(from, to));
    if (reverse) selected.reverse();
    const taken = limit >= 0 ? selected.slice(0, limit) : selected;
    for (const entry of taken) yield entry;
  }

  /** Bytes of keys and values held (LevelDB estimates its files; here the count is exact). */
  async approximateSize(): Promise<number> {
    return this.entries.reduce((n, [k, v]) => n + k.length + v.length, 0);
  }

  /** Index of `key`, or -(insertion point) - 1 when absent. */
  private search(key: Buffer): number {
    const i = this.lowerBound(key);
    return i < this.entries.length && Buffer.compare(this.entries[i][0], key) === 0 ? i : -i - 1;
  }

  /** First index whose key is >= `key`. */
  private lowerBound(key: Buffer): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare(this.entries[mid][0], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
