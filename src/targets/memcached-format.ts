/**
 * What the memcached target stores for a mutation, and how a reader of the cache gets the value back.
 *
 * memcached has no scripts and no multi-key transactions: the only atomic guard it offers is
 * compare-and-set on one item. So the sequence lives *in* the item, in front of the value, and one
 * CAS covers both. A side key (`<key>#seq`) was the other option and is worse here: it hashes to
 * another item (often another server), can be evicted on its own while the value stays (after which
 * an older write would pass), and cannot be updated atomically with the value.
 *
 * Layout, version 1 (all big-endian):
 *
 *   offset 0  4 bytes  magic 00 77 61 6c ("\0wal": a NUL never starts text or JSON)
 *   offset 4  1 byte   format version, 1
 *   offset 5  1 byte   kind: 0 = value, 1 = tombstone (a DELETE; no value follows)
 *   offset 6  8 bytes  sequence of the mutation, signed 64-bit
 *   offset 14 …        the value's bytes, as the mutation carried them
 *
 * The item's flags are 0 (clients that use flags for their own encodings read raw bytes).
 * Deliveries of the delayed queue (`deliver`) carry no sequence and are stored as plain payloads.
 */

export const ENTRY_MAGIC: Readonly<Buffer> = Buffer.from([0x00, 0x77, 0x61, 0x6c]);
export const ENTRY_VERSION = 1;
export const ENTRY_HEADER_BYTES = 14;

const KIND_VALUE = 0;
const KIND_TOMBSTONE = 1;

export type CacheEntry =
  | { readonly kind: 'value'; readonly sequence: number; readonly value: Buffer }
  | { readonly kind: 'tombstone'; readonly sequence: number };

/** The bytes stored for a PUT (`value`) or a DELETE (`null`: a tombstone) at `sequence`. */
export function encodeCacheEntry(sequence: number, value: Buffer | null): Buffer {
  if (!Number.isSafeInteger(sequence)) throw new RangeError(`sequence must be a safe integer, got ${sequence}`);
  const header = Buffer.alloc(ENTRY_HEADER_BYTES);
  ENTRY_MAGIC.copy(header, 0);
  header.writeUInt8(ENTRY_VERSION, 4);
  header.writeUInt8(value === null ? KIND_TOMBSTONE : KIND_VALUE, 5);
  header.writeBigInt64BE(BigInt(sequence), 6);
  return value === null ? header : Buffer.concat([header, value]);
}

/**
 * The entry stored bytes hold, or undefined when they are not in this format (a plain delivery, or a
 * value another writer put there): such a value carries no sequence, and any mutation replaces it.
 */
export function decodeCacheEntry(bytes: Buffer): CacheEntry | undefined {
  if (bytes.length < ENTRY_HEADER_BYTES || !bytes.subarray(0, 4).equals(ENTRY_MAGIC) || bytes.readUInt8(4) !== ENTRY_VERSION) return undefined;
  const kind = bytes.readUInt8(5);
  const sequence = Number(bytes.readBigInt64BE(6));
  if (kind === KIND_VALUE) return { kind: 'value', sequence, value: bytes.subarray(ENTRY_HEADER_BYTES) };
  if (kind === KIND_TOMBSTONE && bytes.length === ENTRY_HEADER_BYTES) return { kind: 'tombstone', sequence };
  return undefined;
}

/**
 * What a cache reader should see for a GET's result: the value of a wal entry, null for a miss or a
 * tombstone (the key was deleted), and any other bytes unchanged (a plain delivery).
 */
export function readCacheValue(bytes: Buffer | null): Buffer | null {
  if (bytes === null) return null;
  const entry = decodeCacheEntry(bytes);
  if (!entry) return bytes;
  return entry.kind === 'value' ? entry.value : null;
}

/** memcached reads an expiry over 30 days as a Unix time, not a duration. */
const RELATIVE_EXPIRY_LIMIT_S = 30 * 86_400;

/** The expiry field memcached wants for a TTL in milliseconds (0 = never). */
export function memcachedExpiry(ttlMs: number, nowMs: number): number {
  if (ttlMs <= 0) return 0;
  const seconds = Math.ceil(ttlMs / 1000);
  return seconds <= RELATIVE_EXPIRY_LIMIT_S ? seconds : Math.floor(nowMs / 1000) + seconds;
}

/**
 * Bytes memcached 1.6 needs for an item besides key and value: its item header (48), the CAS value
 * (8), the flags when not 0 (4), a NUL after the key and CRLF after the value (3), rounded up.
 */
const ITEM_OVERHEAD_BYTES = 64;

/** Why an item of this key and value would not fit `maxItemSize`, or null when it fits. */
export function oversizeReason(key: string, valueBytes: number, maxItemSize: number): string | null {
  const size = Buffer.byteLength(key) + valueBytes + ITEM_OVERHEAD_BYTES;
  if (size <= maxItemSize) return null;
  return `the memcached item for key ${JSON.stringify(key)} would take ${size} bytes (value ${valueBytes}), over the item size limit of ${maxItemSize} (target maxItemSize; memcached -I)`;
}

/** memcached's key limit, in bytes. */
export const MAX_KEY_BYTES = 250;

/**
 * Why memcached (or a text-protocol reader of it) cannot take this key, or null when it can: at most
 * 250 bytes, no whitespace or control characters.
 */
export function invalidKeyReason(key: string): string | null {
  const bytes = Buffer.byteLength(key);
  if (bytes === 0) return 'the memcached key is empty';
  if (bytes > MAX_KEY_BYTES) return `the memcached key is ${bytes} bytes long, over memcached's limit of ${MAX_KEY_BYTES}`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(key)) return `the memcached key ${JSON.stringify(key)} holds whitespace or a control character`;
  return null;
}
