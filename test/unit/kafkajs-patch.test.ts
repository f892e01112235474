const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition') as (args: {
  topic: string;
  partitionMetadata: { partitionId: number }[];
  messages: { key: string; partition: number }[];
  partitioner: (args: { message: { partition: number } }) => number;
}) => Record<number, { key: string }[]>;
import { readFileSync } from 'node:fs';

describe('kafkajs as patched on install (patches/kafkajs+2.2.4.patch)', () => {
  it('carries the linear grouping: npm install ran patch-package', () => {
    const source = readFileSync(require.resolve('kafkajs/src/producer/groupMessagesPerPartition'), 'utf8');
    expect(source).toContain('Patched by wal');
    expect(source).not.toContain('[partition]: [...current, message]');
    expect(readFileSync(require.resolve('kafkajs/src/protocol/encoder'), 'utf8')).toContain('Patched by wal');
    expect(readFileSync(require.resolve('kafkajs/src/protocol/recordBatch/record/v0'), 'utf8')).toContain('Patched by wal');
    expect(readFileSync(require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder'), 'utf8')).toContain('Patched by wal');
    expect(readFileSync(require.resolve('kafkajs/src/producer/partitioners/default/murmur2'), 'utf8')).toContain('Patched by wal');
  });

  it('groups a produce by partition keeping each partition\'s order, as the original did', () => {
    const messages = Array.from({ length: 20_000 }, (_, i) => ({ key: `k${i}`, partition: i % 3 === 0 ? 2 : 0 }));
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: [{ partitionId: 0 }, { partitionId: 1 }, { partitionId: 2 }],
      messages,
      partitioner: ({ message }) => message.partition,
    });
    expect(Object.keys(grouped).sort()).toEqual(['0', '2']);
    expect(grouped[2].map((m) => m.key)).toEqual(messages.filter((m) => m.partition === 2).map((m) => m.key));
    expect(grouped[0].map((m) => m.key)).toEqual(messages.filter((m) => m.partition === 0).map((m) => m.key));
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 })).toEqual({});
  });
});

interface KafkajsEncoder {
  writeVarLong(value: number): KafkajsEncoder;
  writeVarInt(value: number): KafkajsEncoder;
  buffer: Buffer;
}
const Encoder = require('kafkajs/src/protocol/encoder') as { new (size?: number): KafkajsEncoder; sizeOfVarLong(value: number): number };
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => { readInt8(): number; readVarInt(): number };
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, string | Buffer | (string | Buffer)[]>;
}) => { buffer: Buffer };
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as (
  decoder: InstanceType<typeof Decoder>,
  context: { firstOffset: string; firstTimestamp: string },
) => { timestamp: string; offset: string; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | Buffer[]> };

/** Kafka's varlong, computed independently with BigInt: zig-zag, then 7 bits per byte, low first. */
function referenceVarLong(value: bigint): Buffer {
  let zigZag = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const bytes: number[] = [];
  while (zigZag >= 0x80n) {
    bytes.push(Number(zigZag & 0x7fn) | 0x80);
    zigZag >>= 7n;
  }
  bytes.push(Number(zigZag));
  return Buffer.from(bytes);
}

describe('kafkajs record encoding as patched (numbers without Long objects, records in one buffer)', () => {
  const edges = [0, 1, -1, 63, 64, -64, -65, 127, 128, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32 + 5, -(2 ** 40), 2 ** 52 - 1, -(2 ** 52 - 1), 2 ** 52, 2 ** 53 - 1, -(2 ** 53 - 1)];
  const random = Array.from({ length: 2000 }, (_, i) => Math.round((Math.random() - 0.5) * 2 ** (i % 54)));

  it('writes varlongs byte for byte as Kafka specifies them, and sizes them alike', () => {
    for (const value of [...edges, ...random]) {
      const expected = referenceVarLong(BigInt(value));
      expect(new Encoder().writeVarLong(value).buffer.equals(expected)).toBe(true);
      expect(Encoder.sizeOfVarLong(value)).toBe(expected.length);
    }
  });

  it('writes varints that the decoder reads back', () => {
    for (const value of [0, 1, -1, 300, -300, 2 ** 31 - 1, -(2 ** 31), ...random.map((v) => v | 0)]) {
      expect(new Decoder(new Encoder().writeVarInt(value).buffer).readVarInt()).toBe(value);
    }
  });

  it('encodes records the decoder reads back: keys, values, null, unicode, repeated and binary headers', () => {
    const cases: Parameters<typeof encodeRecord>[0][] = [
      { offsetDelta: 0, timestampDelta: 0, key: null, value: null },
      { offsetDelta: 7, timestampDelta: 1234, key: 'k', value: 'välue ✓', headers: { a: '1', 'ü-header': 'ß' } },
      { offsetDelta: 4999, timestampDelta: -5, key: Buffer.from([0, 255, 1]), value: Buffer.alloc(3000, 7), headers: { many: ['x', 'y', 'z'], bin: Buffer.from([1, 2]) } },
      { offsetDelta: 1, timestampDelta: 2 ** 40, key: 'x'.repeat(600), value: 'y', headers: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`h${i}`, `v${i}`])) },
      { offsetDelta: 2, timestampDelta: -(2 ** 51), key: 'k', value: 'v', headers: { toString: 'a', constructor: ['b', 'c'] } },
    ];
    const bases = [
      { firstOffset: '100', firstTimestamp: '1000000' },
      // Past 2^53 the decoder falls back to Long arithmetic.
      { firstOffset: '9007199254740993', firstTimestamp: '9007199254740000' },
    ];
    for (const base of bases) for (const record of cases) {
      const bytes = encodeRecord(record).buffer;
      const decoder = new Decoder(bytes);
      const length = decoder.readVarInt();
      expect(length).toBe(bytes.length - referenceVarLong(BigInt(length)).length);
      const decoded = decodeRecord(decoder, base);
      expect(decoded.offset).toBe(String(BigInt(base.firstOffset) + BigInt(record.offsetDelta)));
      expect(decoded.timestamp).toBe(String(BigInt(base.firstTimestamp) + BigInt(record.timestampDelta)));
      expect(decoded.key?.toString('latin1') ?? null).toBe(record.key === null ? null : Buffer.from(record.key).toString('latin1'));
      expect(decoded.value?.toString('latin1') ?? null).toBe(record.value === null ? null : Buffer.from(record.value).toString('latin1'));
      const headers = Object.fromEntries(Object.entries(decoded.headers).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : String(v)]));
      const expected = Object.fromEntries(Object.entries(record.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : String(v)]));
      expect(headers).toEqual(expected);
      expect(Object.keys(decoded.headers)).toEqual(Object.keys(record.headers ?? {}));
    }
  });
});

describe('kafkajs murmur2 as patched (32-bit arithmetic)', () => {
  const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: string | Buffer) => number;

  it("gives Kafka's own test vectors (UtilsTest.testMurmur2), so keys land on the partitions the Java client picks", () => {
    const vectors: Record<string, number> = {
      '21': -973932308,
      foobar: -790332482,
      'a-little-bit-long-string': -985981536,
      'a-little-bit-longer-string': -1486304829,
      lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8: -58897971,
      abc: 479470107,
    };
    for (const [key, hash] of Object.entries(vectors)) {
      expect(murmur2(key)).toBe(hash);
      expect(murmur2(Buffer.from(key))).toBe(hash);
    }
  });
});

describe('kafkajs default partitioner as patched (no per-message array for keyed messages)', () => {
  type Partitioner = (args: { topic: string; partitionMetadata: { partitionId: number; leader: number }[]; message: { key?: Buffer | string | null; partition?: number | null } }) => number;
  const createPartitioner = require('kafkajs/src/producer/partitioners/default') as () => Partitioner;
  const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: string | Buffer) => number;
  const metadata = [0, 1, 2, 3, 4, 5].map((partitionId) => ({ partitionId, leader: partitionId === 2 ? -1 : 1 }));

  it('keeps an explicit partition, hashes keys over all partitions like the Java client, and round-robins keyless ones over those with a leader', () => {
    expect(readFileSync(require.resolve('kafkajs/src/producer/partitioners/legacy/partitioner'), 'utf8')).toContain('Patched by wal');
    const partition = createPartitioner();
    expect(partition({ topic: 't', partitionMetadata: metadata, message: { partition: 4, key: 'k' } })).toBe(4);
    for (const key of ['21', 'foobar', 'abc', 'r-17']) {
      expect(partition({ topic: 't', partitionMetadata: metadata, message: { key: Buffer.from(key) } })).toBe((murmur2(key) & 0x7fffffff) % 6);
    }
    const keyless = Array.from({ length: 10 }, () => partition({ topic: 't', partitionMetadata: metadata, message: { key: null } }));
    expect(keyless).not.toContain(2);
    expect(new Set(keyless)).toEqual(new Set([0, 1, 3, 4, 5]));
  });
});
