import type { Message } from 'kafkajs';

/**
 * kafkajs puts all of a partition's messages of one produce request into one record batch, and the
 * broker refuses a batch over the topic's max.message.bytes whole (never below 1 MiB on wal's topics,
 * see plan.ts). Requests of at most this many bytes stay clear of it.
 */
export const MAX_REQUEST_BYTES = 512 * 1024;

/** Roughly what a message adds to a record batch: key, value, headers (repeated ones too) and per-record overhead. */
export function messageBytes(message: Message): number {
  const length = (v: unknown): number => (v === null || v === undefined ? 0 : Buffer.byteLength(v as Buffer | string));
  let bytes = length(message.key) + length(message.value) + 64;
  const headers = message.headers;
  // for-in, not Object.entries: this runs for every record sent, and the entries arrays were garbage.
  if (headers) {
    for (const k in headers) {
      const v = headers[k];
      if (Array.isArray(v)) for (const x of v) bytes += k.length + length(x);
      else bytes += k.length + length(v);
    }
  }
  return bytes;
}

/** Splits `items` into runs of at most `limit` bytes, in order (an item larger than that runs alone). */
export function splitByBytes<T>(items: readonly T[], sizeOf: (item: T) => number, limit: number): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (run.length > 0 && bytes + size > limit) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(item);
    bytes += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
