/**
 * One-dimensional PostgreSQL arrays in the binary wire format (array_recv), for upserts over
 * unnest(). node-postgres sends a Buffer parameter as binary, so an array built here reaches the
 * server as it is: no text literal per element in JS (escaping, bytea as hex doubles the bytes) and
 * no text parsing on the server. Measured on the fan-out's 1000-row upserts: the text arrays were the
 * applier's largest cost after Avro decoding.
 */

/** Element type OIDs (pg_type) of the arrays the PostgreSQL target sends. */
export const PG_OID = { bool: 16, bytea: 17, int8: 20, text: 25 } as const;

// ndim, has-nulls flag, element OID, then (length, lower bound) of the one dimension.
const HEADER_BYTES = 20;

function header(size: number, hasNulls: boolean, oid: number, count: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(1, 0);
  out.writeInt32BE(hasNulls ? 1 : 0, 4);
  out.writeInt32BE(oid, 8);
  out.writeInt32BE(count, 12);
  out.writeInt32BE(1, 16);
  return out;
}

/** An array of variable-length elements (each: int32 length, or -1 for NULL, then its bytes); `write` answers the bytes written. */
function varlenArray<T>(items: ReadonlyArray<T | null>, oid: number, byteLength: (item: T) => number, write: (item: T, out: Buffer, at: number) => number): Buffer {
  let size = HEADER_BYTES;
  let hasNulls = false;
  for (const item of items) {
    if (item === null) hasNulls = true;
    size += 4 + (item === null ? 0 : byteLength(item));
  }
  const out = header(size, hasNulls, oid, items.length);
  let at = HEADER_BYTES;
  for (const item of items) {
    if (item === null) {
      out.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    const n = write(item, out, at + 4);
    out.writeInt32BE(n, at);
    at += 4 + n;
  }
  return out;
}

/** text[] of strings (sent as UTF-8); null elements are SQL NULL. */
export function textArray(items: ReadonlyArray<string | null>): Buffer {
  return varlenArray(items, PG_OID.text, (s) => Buffer.byteLength(s), (s, out, at) => out.write(s, at));
}

/** bytea[]; null elements are SQL NULL. */
export function bytesArray(items: ReadonlyArray<Buffer | null>): Buffer {
  return varlenArray(items, PG_OID.bytea, (b) => b.length, (b, out, at) => b.copy(out, at));
}

/** int8[] of safe integers (sequences): big-endian two's complement, written as two 32-bit halves. */
export function int8Array(items: readonly number[]): Buffer {
  const out = header(HEADER_BYTES + items.length * 12, false, PG_OID.int8, items.length);
  let at = HEADER_BYTES;
  for (const n of items) {
    if (!Number.isSafeInteger(n)) throw new RangeError(`int8 element must be a safe integer, got ${n}`);
    const high = Math.floor(n / 2 ** 32);
    out.writeInt32BE(8, at);
    out.writeInt32BE(high, at + 4);
    out.writeUInt32BE(n - high * 2 ** 32, at + 8);
    at += 12;
  }
  return out;
}

/** bool[]. */
export function boolArray(items: readonly boolean[]): Buffer {
  const out = header(HEADER_BYTES + items.length * 5, false, PG_OID.bool, items.length);
  let at = HEADER_BYTES;
  for (const b of items) {
    out.writeInt32BE(1, at);
    out[at + 4] = b ? 1 : 0;
    at += 5;
  }
  return out;
}
