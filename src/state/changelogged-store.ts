import type { KeyValueStore, RangeOptions } from '../runtime/api';
import type { ChangelogWriter } from './changelog-writer';
import type { LevelStore } from './level-store';

/**
 * The store a processor sees: writes go to LevelDB first, then to the changelog (buffered until the
 * task flushes). Without a writer the store is local only.
 */
export class ChangeloggedStore implements KeyValueStore {
  constructor(
    readonly local: LevelStore,
    readonly changelog: ChangelogWriter | null,
  ) {}

  get name(): string {
    return this.local.name;
  }

  get(key: Buffer): Promise<Buffer | undefined> {
    return this.local.get(key);
  }

  async put(key: Buffer, value: Buffer): Promise<void> {
    await this.local.put(key, value);
    this.changelog?.append(key, value);
  }

  async delete(key: Buffer): Promise<void> {
    await this.local.delete(key);
    this.changelog?.append(key, null);
  }

  range(options?: RangeOptions): AsyncIterable<[Buffer, Buffer]> {
    return this.local.range(options);
  }

  approximateSize(): Promise<number> {
    return this.local.approximateSize();
  }
}
