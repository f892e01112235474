/**
 * Byte layouts that stores share: keys that range-scan in time order, and values that hold a
 * record's bytes beside its bookkeeping.
 */

/** `tag` + `time` (8 bytes big-endian) + `id`: a range scan over the tag yields entries in time order. */
export function timeOrderedKey(tag: number, time: number, id: string): Buffer {
  const key = Buffer.alloc(9 + Buffer.byteLength(id));
  key[0] = tag;
  key.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(time))), 1);
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
  const { value, key, ...rest } = entry;
  const meta = Buffer.from(JSON.stringify({ ...rest, key: key === null ? null : key.toString('base64') }));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(meta.length);
  return Buffer.concat([length, meta, value]);
}

export function decodeHeldRecord<T extends Pick<HeldRecord, 'key' | 'value'>>(buffer: Buffer): T {
  const length = buffer.readUInt32BE(0);
  const meta = JSON.parse(buffer.subarray(4, 4 + length).toString()) as Omit<T, 'key' | 'value'> & { key: string | null };
  return { ...meta, key: meta.key === null ? null : Buffer.from(meta.key, 'base64'), value: buffer.subarray(4 + length) } as unknown as T;
}
