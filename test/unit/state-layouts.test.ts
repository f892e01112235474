import { decodeHeldRecord, encodeHeldRecord, readU64, taggedKey, timeOrderedKey, u64, writeU64, type HeldRecord } from '../../src/state/layouts';

/** The reference: Node's own BigInt writer, which the two 32-bit halves must match byte for byte. */
function bigintU64(n: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(BigInt(n));
  return buffer;
}

describe('store key layouts', () => {
  const values = [0, 1, 255, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 1_796_314_044_728, Number.MAX_SAFE_INTEGER];

  it('writes 8 bytes big-endian exactly as BigInt would, and reads them back', () => {
    for (const n of values) {
      expect(u64(n).equals(bigintU64(n))).toBe(true);
      expect(readU64(bigintU64(n))).toBe(n);
      const at = Buffer.alloc(12, 0xaa);
      writeU64(at, n, 3);
      expect(readU64(at, 3)).toBe(n);
      expect(at[2]).toBe(0xaa);
      expect(at[11]).toBe(0xaa);
    }
  });

  it('clamps negative and fractional times like the BigInt layout did (floor, at least 0)', () => {
    expect(readU64(u64(-5))).toBe(0);
    expect(readU64(u64(1234.9))).toBe(1234);
  });

  it('orders time-ordered keys by time across the 32-bit boundary, then by id', () => {
    const times = [2 ** 32 + 5, 3, 2 ** 32 - 1, 1_796_314_044_728, 2 ** 32];
    const keys = times.map((t) => timeOrderedKey(0x74, t, 'id'));
    const sorted = [...keys].sort(Buffer.compare).map((k) => readU64(k, 1));
    expect(sorted).toEqual([...times].sort((a, b) => a - b));
    expect(Buffer.compare(timeOrderedKey(0x74, 7, 'a'), timeOrderedKey(0x74, 7, 'b'))).toBeLessThan(0);
    expect(timeOrderedKey(0x74, 7, 'é-id').subarray(9).toString()).toBe('é-id');
  });

  it('builds a tagged key from the tag byte and the UTF-8 id', () => {
    const key = taggedKey(0x61, 'ü-1');
    expect(key[0]).toBe(0x61);
    expect(key.subarray(1).toString()).toBe('ü-1');
    expect(key.length).toBe(1 + Buffer.byteLength('ü-1'));
  });

  it('encodes a held record in the documented layout (length, JSON with the key in base64, value) and reads it back', () => {
    interface Held extends HeldRecord {
      readonly id: string;
      readonly dueAt: number;
    }
    const held: Held = { id: 'é-1', dueAt: 42, key: Buffer.from([0, 1, 255]), value: Buffer.from('payload ü'), headers: { a: 'b' }, source: { topic: 't', partition: 3, offset: '17' } };
    const encoded = encodeHeldRecord(held);
    const json = JSON.stringify({ id: 'é-1', dueAt: 42, headers: { a: 'b' }, source: { topic: 't', partition: 3, offset: '17' }, key: Buffer.from([0, 1, 255]).toString('base64') });
    const length = Buffer.alloc(4);
    length.writeUInt32BE(Buffer.byteLength(json));
    expect(encoded.equals(Buffer.concat([length, Buffer.from(json), held.value]))).toBe(true);
    expect(decodeHeldRecord<Held>(encoded)).toEqual(held);
    expect(held.key).not.toBeNull(); // the entry given is left as it was
    const keyless = decodeHeldRecord<Held>(encodeHeldRecord({ ...held, key: null, value: Buffer.alloc(0) }));
    expect(keyless.key).toBeNull();
    expect(keyless.value.length).toBe(0);
  });
});
