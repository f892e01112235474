import { boolArray, bytesArray, int8Array, PG_OID, textArray } from '../../src/targets/postgres-arrays';

/** Reads a one-dimensional binary array back (what array_recv does), as hex or null per element. */
function readArray(bytes: Buffer): { hasNulls: number; oid: number; elements: Array<string | null> } {
  expect(bytes.readInt32BE(0)).toBe(1); // one dimension
  expect(bytes.readInt32BE(16)).toBe(1); // lower bound
  const count = bytes.readInt32BE(12);
  const elements: Array<string | null> = [];
  let at = 20;
  for (let i = 0; i < count; i++) {
    const n = bytes.readInt32BE(at);
    at += 4;
    if (n === -1) {
      elements.push(null);
      continue;
    }
    elements.push(bytes.subarray(at, at + n).toString('hex'));
    at += n;
  }
  expect(at).toBe(bytes.length);
  return { hasNulls: bytes.readInt32BE(4), oid: bytes.readInt32BE(8), elements };
}

describe('PostgreSQL binary arrays (array_recv format)', () => {
  it('writes text as length-prefixed UTF-8, NULL as length -1', () => {
    expect(readArray(textArray(['k1', 'é', '', null]))).toEqual({ hasNulls: 1, oid: PG_OID.text, elements: ['6b31', 'c3a9', '', null] });
    expect(readArray(textArray([]))).toEqual({ hasNulls: 0, oid: PG_OID.text, elements: [] });
  });

  it('copies bytes as they are, zero bytes and empty values included', () => {
    expect(readArray(bytesArray([Buffer.from([0, 255]), Buffer.alloc(0), null]))).toEqual({ hasNulls: 1, oid: PG_OID.bytea, elements: ['00ff', '', null] });
  });

  it('writes int8 as 8-byte big-endian two’s complement, exact over the safe integers', () => {
    expect(readArray(int8Array([0, 1, -1, 2 ** 32, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])).elements).toEqual([
      '0000000000000000',
      '0000000000000001',
      'ffffffffffffffff',
      '0000000100000000',
      '001fffffffffffff',
      'ffe0000000000001',
    ]);
    expect(() => int8Array([1.5])).toThrow(RangeError);
    expect(() => int8Array([2 ** 53])).toThrow(RangeError);
  });

  it('writes booleans as one byte', () => {
    expect(readArray(boolArray([true, false]))).toEqual({ hasNulls: 0, oid: PG_OID.bool, elements: ['01', '00'] });
  });
});
