import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointCorruptError } from './errors';

/** Per store: the next changelog offset the local store has NOT applied (everything below it is on disk). */
export type CheckpointOffsets = Record<string, { readonly topic: string; readonly partition: number; readonly offset: string }>;

interface CheckpointFile {
  readonly version: 1;
  readonly writtenAt: string;
  readonly stores: CheckpointOffsets;
}

/**
 * A task's checkpoint file (JSON, replaced atomically by write-to-temp + fsync + rename, so a crash
 * leaves either the old or the new file). Its absence means "local state unknown": rebuild from the changelog.
 */
export class Checkpoint {
  constructor(readonly file: string) {}

  /** The offsets, or null when there is no checkpoint. A corrupt file is reported and treated as absent. */
  async read(onCorrupt?: (error: CheckpointCorruptError) => void): Promise<CheckpointOffsets | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as CheckpointFile;
      if (parsed.version !== 1 || typeof parsed.stores !== 'object' || parsed.stores === null) throw new Error('unknown layout');
      for (const [store, entry] of Object.entries(parsed.stores)) {
        if (typeof entry?.topic !== 'string' || typeof entry.partition !== 'number' || !/^\d+$/.test(String(entry.offset))) {
          throw new Error(`bad entry for store "${store}"`);
        }
      }
      return parsed.stores;
    } catch (cause) {
      onCorrupt?.(new CheckpointCorruptError(this.file, cause));
      return null;
    }
  }

  async write(stores: CheckpointOffsets): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const body: CheckpointFile = { version: 1, writtenAt: new Date().toISOString(), stores };
    const tmp = `${this.file}.${process.pid}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(JSON.stringify(body));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.file);
  }

  async delete(): Promise<void> {
    await rm(this.file, { force: true });
  }
}
