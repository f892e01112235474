/** The store interface a processor sees; LevelStore + ChangeloggedStore implement it per task. */

export interface RangeOptions {
  /** Inclusive lower bound. */
  readonly gte?: Buffer;
  /** Exclusive upper bound. */
  readonly lt?: Buffer;
  readonly limit?: number;
  readonly reverse?: boolean;
}

/**
 * A persistent key-value store owned by one task (one input partition). Keys are ordered
 * byte-wise, so big-endian numeric prefixes scan in numeric order. Every write is also sent to the
 * store's changelog topic, from which the store is rebuilt wherever its partition moves.
 */
export interface KeyValueStore {
  readonly name: string;
  get(key: Buffer): Promise<Buffer | undefined>;
  /** Several lookups in one trip to disk (one LevelDB read batch instead of a round trip per key). */
  getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]>;
  /**
   * The store keeps the buffers it is given (no copy, like a Kafka Streams in-memory store keeps its
   * byte[]s): do not change them afterwards. Build a fresh key and value per write.
   */
  put(key: Buffer, value: Buffer): Promise<void>;
  delete(key: Buffer): Promise<void>;
  range(options?: RangeOptions): AsyncIterable<[Buffer, Buffer]>;
  /** Approximate bytes on disk (LevelDB's estimate: recent writes still in memory do not count yet). */
  approximateSize(): Promise<number>;
}

/**
 * Keys a changelogged store keeps on local disk only because they follow from its other entries (a
 * secondary index): writes and deletes of index keys get no changelog record, and a restore derives
 * them again from each restored entry (like a Kafka Streams restore callback). A store that indexes
 * every entry so halves its changelog. A restore ignores index keys found on the changelog (written
 * before the index was local): the index is always what the entries imply.
 */
export interface LocalIndex {
  isIndexKey(key: Buffer): boolean;
  /**
   * The index write that a restored entry implies, or null: for a tombstone (`value` null), the index
   * entry to delete if the entry's key alone names it. An index that cannot say must tolerate stale
   * entries (its reader checks the entry they point at).
   */
  derive(key: Buffer, value: Buffer | null): { readonly key: Buffer; readonly value: Buffer | null } | null;
}
