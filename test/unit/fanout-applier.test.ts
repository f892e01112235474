import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Type } from 'avsc';
import { parseConfig } from '../../src/namespaces';
import { backoffDelay } from '../../src/delayed-queue';
import { DLQ_HEADERS, REDRIVE_HEADERS } from '../../src/wire/headers';
import { ApplierProcessor, decodeTxnEvent, type ChunkRecord, type TxnEvent } from '../../src/mutations';
import type { KeyValueStore, OutputRecord, ProcessorContext, Punctuator } from '../../src/engine/api';
import { formatWireFormat, loadSchema, parseWireFormat, writeToLogRequestSchema, type AvroCodec } from '../../src/wire';
import { LevelStore } from '../../src/state';
import { failed, OK, type DeliveryResult, type MutationDelivery, type Target } from '../../src/targets';

const BACKOFF = { initialMs: 1000, maxMs: 8000, multiplier: 2, jitter: 0 };
const config = parseConfig(
  `
clusters:
  primary: { brokers: 127.0.0.1:9092, schemaRegistryUrl: http://127.0.0.1:8081/apis/ccompat/v7 }
namespaces:
  - name: shop
    partitions: 1
    maxRetries: 3
    backoff: { initialMs: 1s, maxMs: 8s, multiplier: 2, jitter: 0 }
    targets:
      events: { type: kafka, topic: shop.events }
`,
  'shop.yaml',
);
const ns = config.namespaces[0]!;
const TOPIC = ns.topics.targets.events!;

/** Avro in wire format without a registry: schema id 1 = Chunk, 2 = WriteToLogRequest. */
function localCodec(): AvroCodec {
  const types = new Map([
    [1, Type.forSchema(loadSchema('Chunk'))],
    [2, Type.forSchema(writeToLogRequestSchema())],
  ]);
  const decodeWithId = async <T>(buffer: Buffer | null | undefined) => {
    const { schemaId, body } = parseWireFormat(buffer);
    return { schemaId, value: types.get(schemaId)!.fromBuffer(body) as T };
  };
  return {
    registryUrl: 'local',
    registerSchema: async (subject) => (subject.includes('intake') ? 2 : 1),
    schemaType: async (id) => types.get(id)!,
    encode: async (id, value) => formatWireFormat(id, types.get(id)!.toBuffer(value)),
    decode: async <T>(buffer: Buffer | null | undefined) => (await decodeWithId<T>(buffer)).value,
    decodeWithId,
  };
}

/** A target that answers from a script and records what it was asked to apply. */
class ScriptedTarget implements Target {
  readonly name = 'events';
  readonly applied: number[] = [];
  readonly tries: number[] = [];
  answer: (chunk: MutationDelivery) => DeliveryResult = () => OK;
  async deliver(): Promise<DeliveryResult[]> {
    return [];
  }
  async applyMutations(chunk: MutationDelivery): Promise<DeliveryResult> {
    this.tries.push(chunk.chunkIndex);
    const result = this.answer(chunk);
    if (result.ok) this.applied.push(chunk.chunkIndex);
    return result;
  }
  async close(): Promise<void> {}
}

describe('applier', () => {
  let dir: string;
  let store: LevelStore;
  let now: number;
  let forwarded: Array<{ record: OutputRecord; to?: string }>;
  let punctuate: Punctuator;
  let target: ScriptedTarget;
  let applier: ApplierProcessor;
  const codec = localCodec();

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-applier-'));
    store = await LevelStore.open('held', dir);
    now = 1_800_000_000_000;
    forwarded = [];
    target = new ScriptedTarget();
    applier = new ApplierProcessor({ namespace: ns, clusters: config.clusters, codec, targetFactory: () => target, random: () => 0 });
    const context = {
      namespace: 'shop',
      partition: 0,
      forward: (record: OutputRecord, to?: string) => void forwarded.push({ record, to }),
      schedule: (_: number, p: Punctuator) => {
        punctuate = p;
        return { cancel: () => undefined };
      },
      getStore: (): KeyValueStore => store,
      now: () => now,
    } as unknown as ProcessorContext;
    await applier.init(context);
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function chunk(chunkIndex: number): Promise<void> {
    const record: ChunkRecord = {
      namespace: 'shop',
      txnId: 'txn-1',
      target: 'events',
      chunkIndex,
      chunkCount: 4,
      writeTime: 1,
      mutations: [{ target: 'events', key: 'same-key', op: 'PUT', value: Buffer.from(`v${chunkIndex}`), sequence: chunkIndex }],
    };
    const value = await codec.encode(1, record);
    await applier.process({ key: null, value, headers: {}, timestamp: now, topic: TOPIC, partition: 0, offset: String(chunkIndex) });
  }

  const events = (): TxnEvent[] => forwarded.filter((f) => f.to === 'fanout-completions').map((f) => decodeTxnEvent(f.record.value));
  const tick = async (ms: number) => {
    now += ms;
    await punctuate(now);
  };

  it('holds every later chunk behind a failed one, retries it with backoff, then applies all in order', async () => {
    target.answer = (c) => (c.chunkIndex === 0 ? failed(true, 'ECONNREFUSED') : OK);
    for (const i of [0, 1, 2]) await chunk(i);
    await applier.flush();
    expect(target.tries).toEqual([0]); // 1 and 2 wait behind 0: same key, order kept
    expect(events()).toEqual([]);

    await tick(backoffDelay(1, BACKOFF) - 1);
    expect(target.tries).toEqual([0]);
    await tick(1);
    expect(target.tries).toEqual([0, 0]);
    await tick(backoffDelay(2, BACKOFF) - 1);
    expect(target.tries).toEqual([0, 0]);

    // A chunk read meanwhile joins the queue behind the others.
    await chunk(3);
    await applier.flush();
    expect(target.tries).toEqual([0, 0]);

    target.answer = () => OK;
    await tick(1);
    expect(target.applied).toEqual([0, 1, 2, 3]);
    expect(events().map((e) => [e.kind, 'chunkIndex' in e ? e.chunkIndex : -1, 'attempts' in e ? e.attempts : 0])).toEqual([
      ['applied', 0, 3],
      ['applied', 1, 1],
      ['applied', 2, 1],
      ['applied', 3, 1],
    ]);
  });

  it('dead-letters a chunk once maxRetries is spent, reports it failed, and moves on to the next', async () => {
    target.answer = (c) => (c.chunkIndex === 0 ? failed(true, 'ECONNREFUSED') : OK);
    await chunk(0);
    await chunk(1);
    await applier.flush();
    for (let attempt = 1; attempt <= ns.maxRetries; attempt += 1) await tick(backoffDelay(attempt, BACKOFF));
    expect(target.tries).toEqual([0, 0, 0, 0, 1]);

    const letters = forwarded.filter((f) => f.to === 'fanout-applier-dlq');
    expect(letters).toHaveLength(1);
    const headers = letters[0]!.record.headers!;
    expect(headers).toMatchObject({ [DLQ_HEADERS.kind]: 'exhausted', [DLQ_HEADERS.attempts]: '4', [DLQ_HEADERS.id]: 'txn-1', [REDRIVE_HEADERS.chunkIndex]: '0', [REDRIVE_HEADERS.target]: 'events' });
    const request = await codec.decode<{ id: string; mutations: unknown[] }>(letters[0]!.record.value);
    expect(request).toMatchObject({ id: 'txn-1', mutations: [{ key: 'same-key', sequence: 0 }] });
    expect(events()).toEqual([
      expect.objectContaining({ kind: 'failed', chunkIndex: 0, attempts: 4, error: 'ECONNREFUSED' }),
      expect.objectContaining({ kind: 'applied', chunkIndex: 1, attempts: 1 }),
    ]);
  });

  it('dead-letters a permanent failure at once, without holding anything back', async () => {
    target.answer = (c) => (c.chunkIndex === 1 ? failed(false, 'value too large') : OK);
    for (const i of [0, 1, 2]) await chunk(i);
    await applier.flush();
    expect(target.applied).toEqual([0, 2]);
    expect(forwarded.filter((f) => f.to === 'fanout-applier-dlq')[0]!.record.headers).toMatchObject({ [DLQ_HEADERS.kind]: 'permanent', [DLQ_HEADERS.reason]: 'value too large' });
  });

  it('dead-letters a record that is no chunk as it came', async () => {
    await applier.process({ key: null, value: Buffer.from('garbage'), headers: {}, timestamp: now, topic: TOPIC, partition: 0, offset: '5' });
    await applier.flush();
    const letter = forwarded.find((f) => f.to === 'fanout-applier-dlq')!;
    expect(letter.record.value).toEqual(Buffer.from('garbage'));
    expect(letter.record.headers![DLQ_HEADERS.kind]).toBe('poison');
    expect(target.tries).toEqual([]);
  });

  it('keeps held chunks on the store: a new applier on it (re-opened task) carries on', async () => {
    target.answer = () => failed(true, 'down');
    await chunk(0);
    await chunk(1);
    await applier.flush();
    const reopened = new ApplierProcessor({ namespace: ns, clusters: config.clusters, codec, targetFactory: () => target, random: () => 0 });
    let punctuator!: Punctuator;
    await reopened.init({ partition: 0, forward: () => undefined, schedule: (_: number, p: Punctuator) => ((punctuator = p), { cancel() {} }), getStore: () => store, now: () => now } as unknown as ProcessorContext);
    target.answer = () => OK;
    now += backoffDelay(1, BACKOFF);
    await punctuator(now);
    expect(target.applied).toEqual([0, 1]);
  });
});
