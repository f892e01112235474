import { MalformedRecordError } from './errors';

/** Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian int, then the Avro body. */
export const MAGIC_BYTE = 0;
export const WIRE_HEADER_BYTES = 5;

export interface WireRecord {
  readonly schemaId: number;
  readonly body: Buffer;
}

/** Splits a wire-format buffer; anything else is a MalformedRecordError naming what is wrong. */
export function parseWireFormat(buffer: Buffer | null | undefined): WireRecord {
  if (!Buffer.isBuffer(buffer)) throw new MalformedRecordError('record value is empty (null), not Confluent wire format');
  if (buffer.length < WIRE_HEADER_BYTES) {
    throw new MalformedRecordError(`record is ${buffer.length} bytes, shorter than the 5-byte Confluent wire-format header`);
  }
  if (buffer[0] !== MAGIC_BYTE) {
    throw new MalformedRecordError(`record starts with byte ${buffer[0]}, not the Confluent wire-format magic byte 0`);
  }
  return { schemaId: buffer.readInt32BE(1), body: buffer.subarray(WIRE_HEADER_BYTES) };
}

export function formatWireFormat(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(WIRE_HEADER_BYTES);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

/** What writes an Avro body at `pos` of `buf`: the end position, or minus the bytes missing (avsc's Type#encode). */
export type BodyEncoder = (buf: Buffer, pos: number) => number;

const SCRATCH_START = 64 * 1024;
const SCRATCH_MAX = 1024 * 1024;

/**
 * Writes wire-format records through one growing scratch buffer: the body is encoded once, in place
 * after the header, and copied out once. avsc's own toBuffer encodes a value over 1 KiB twice (its
 * shared 1 KiB buffer overflows, then it writes again into one of the right size), and the header
 * cost a third copy; a chunk or a request of thousands of mutations paid all three.
 */
export class WireWriter {
  private scratch = Buffer.allocUnsafe(SCRATCH_START);

  write(schemaId: number, encodeBody: BodyEncoder): Buffer {
    const end = encodeBody(this.scratch, WIRE_HEADER_BYTES);
    if (end >= 0) {
      const out = Buffer.allocUnsafe(end);
      this.scratch.copy(out, 0, 0, end);
      return writeHeader(out, schemaId);
    }
    // Too small: encode into a buffer of the exact size instead, and keep a larger scratch (up to a cap).
    const size = this.scratch.length - end;
    const out = Buffer.allocUnsafe(size);
    if (encodeBody(out, WIRE_HEADER_BYTES) !== size) throw new Error(`Avro body did not encode to the ${size - WIRE_HEADER_BYTES} bytes it measured`);
    if (size <= SCRATCH_MAX) this.scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(size, 2 * this.scratch.length)));
    return writeHeader(out, schemaId);
  }
}

function writeHeader(out: Buffer, schemaId: number): Buffer {
  out[0] = MAGIC_BYTE;
  out.writeInt32BE(schemaId, 1);
  return out;
}
