import { mkdir, rm } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import type { RangeOptions } from './store';
import { StoreClosedError, StoreOpenError } from './errors';

/** One write of a batch; `value: null` deletes (a changelog tombstone). */
export interface StoreWrite {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

// Bounds wide enough for approximateSize over "all keys" (LevelDB orders byte-wise).
const MIN_KEY = Buffer.alloc(0);
const MAX_KEY = Buffer.alloc(256, 0xff);

/**
 * A LevelDB (classic-level) with binary keys and values: the local, on-disk half of a state store.
 * It knows nothing about changelogs; `ChangeloggedStore` adds that on top.
 */
export class LevelStore {
  private closed = false;

  private constructor(
    readonly name: string,
    readonly location: string,
    private readonly db: ClassicLevel<Buffer, Buffer>,
  ) {}

  static async open(name: string, location: string): Promise<LevelStore> {
    await mkdir(location, { recursive: true });
    const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (error) {
      throw new StoreOpenError(location, (error as { cause?: unknown }).cause ?? error);
    }
    return new LevelStore(name, location, db);
  }

  /** Deletes a store's files (it must be closed): used when local state cannot be trusted. */
  static async wipe(location: string): Promise<void> {
    await rm(location, { recursive: true, force: true });
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    this.check();
    return (await this.db.get(key)) ?? undefined;
  }

  async getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]> {
    this.check();
    if (keys.length === 0) return [];
    return (await this.db.getMany([...keys])).map((v) => v ?? undefined);
  }

  async put(key: Buffer, value: Buffer): Promise<void> {
    this.check();
    await this.db.put(key, value);
  }

  async delete(key: Buffer): Promise<void> {
    this.check();
    await this.db.del(key);
  }

  /** Applies writes atomically, in order (restore applies a fetched changelog batch this way). */
  async write(writes: readonly StoreWrite[]): Promise<void> {
    this.check();
    if (writes.length === 0) return;
    // A chained batch hands each write to LevelDB in one native call; an array batch is cloned op by
    // op and read back property by property, about twice the main-thread time (a restore's hot path).
    const batch = this.db.batch();
    try {
      for (const w of writes) {
        if (w.value === null) batch.del(w.key);
        else batch.put(w.key, w.value);
      }
    } catch (error) {
      await batch.close();
      throw error;
    }
    await batch.write();
  }

  async *range(options: RangeOptions = {}): AsyncIterable<[Buffer, Buffer]> {
    this.check();
    const iterator = this.db.iterator({
      ...(options.gte !== undefined ? { gte: options.gte } : {}),
      ...(options.lt !== undefined ? { lt: options.lt } : {}),
      limit: options.limit ?? -1,
      reverse: options.reverse ?? false,
    });
    try {
      for await (const [key, value] of iterator) yield [key, value];
    } finally {
      await iterator.close();
    }
  }

  async approximateSize(): Promise<number> {
    this.check();
    return this.db.approximateSize(MIN_KEY, MAX_KEY);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError(this.name);
  }
}
