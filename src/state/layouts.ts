/**
 * Byte layouts that stores share: keys that range-scan in time order, and values that hold a
 * record's bytes beside its bookkeeping.
 */

const TWO_32 = 2 ** 32;

/**
 * Writes `n` (a whole number below 2^53: a time in ms, a count) as 8 bytes big-endian at `offset`.
 * Two 32-bit writes: going through BigInt cost more than the rest of a key on the hot path.
 */
export function writeU64(buffer: Buffer, n: number, offset = 0): void {
  const v = Math.max(0, Math.floor(n));
  buffer.writeUInt32BE(Math.floor(v / TWO_32), offset);
  buffer.writeUInt32BE(v % TWO_32, offset + 4);
}

/** 8 bytes big-endian of `n` (see writeU64). */
export function u64(n: number): Buffer {
  const buffer = Buffer.allocUnsafe(8);
  writeU64(buffer, n);
  return buffer;
}

/** The number in 8 bytes big-endian at `offset` (exact below 2^53). */
export function readU64(buffer: Buffer, offset = 0): number {
  return buffer.readUInt32BE(offset) * TWO_32 + buffer.readUInt32BE(offset + 4);
}

/** `tag` + `id` (UTF-8): a key of one kind of entry in a store that keeps several. */
export function taggedKey(tag: number, id: string): Buffer {
  const key = Buffer.allocUnsafe(1 + Buffer.byteLength(id));
  key[0] = tag;
  key.write(id, 1);
  return key;
}

/** `tag` + `time` (8 bytes big-endian) + `id`: a range scan over the tag yields entries in time order. */
export function timeOrderedKey(tag: number, time: number, id: string): Buffer {
  const key = Buffer.allocUnsafe(9 + Buffer.byteLength(id));
  key[0] = tag;
  writeU64(key, time, 1);
  key.write(id, 9);
  return key;
}

/** A record a store holds for later (a timer, a chunk waiting for its target): its bytes and where it came from. */
export interface HeldRecord {
  readonly key: Buffer | null;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string };
}

/** The retry bookkeeping of a held record. */
export interface Attempts {
  /** Tries so far (0 until the first). */
  readonly attempts: number;
  readonly firstFailureAt?: number;
  readonly lastFailureAt?: number;
  readonly lastError?: string;
}

/** 4-byte length of a JSON header (every field but the value, key in base64), the header, then the value as it is. */
export function encodeHeldRecord<T extends Pick<HeldRecord, 'key' | 'value'>>(entry: T): Buffer {
  const { value, key, ...meta } = entry;
  const json = JSON.stringify(Object.assign(meta, { key: key === null ? null : key.toString('base64') }));
  // One buffer written in place: the JSON was turned into a buffer and then copied again by concat.
  const metaBytes = Buffer.byteLength(json);
  const buffer = Buffer.allocUnsafe(4 + metaBytes + value.length);
  buffer.writeUInt32BE(metaBytes, 0);
  buffer.write(json, 4);
  value.copy(buffer, 4 + metaBytes);
  return buffer;
}

export function decodeHeldRecord<T extends Pick<HeldRecord, 'key' | 'value'>>(buffer: Buffer): T {
  const length = buffer.readUInt32BE(0);
  const meta = JSON.parse(buffer.subarray(4, 4 + length).toString()) as Omit<T, 'key' | 'value'> & { key: string | null };
  return { ...meta, key: meta.key === null ? null : Buffer.from(meta.key, 'base64'), value: buffer.subarray(4 + length) } as unknown as T;
}
