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
