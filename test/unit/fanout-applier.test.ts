import { parseConfig } from '../../src/namespaces';
import { backoffDelay } from '../../src/delayed-queue';
import { DLQ_HEADERS, REDRIVE_HEADERS } from '../../src/wire/headers';
import { ChunkCodec, decodeTxnEvent, mutationTopology, type ChunkRecord, type TxnEvent } from '../../src/mutations';
import { TopologyTestDriver, type TestOutputRecord } from '../../src/engine';
import { failed, OK } from '../../src/targets';
import { LocalAvroCodec } from '../support/avro-codec';
import { ScriptedTarget } from '../support/scripted-target';
import { metricsRegistry } from '../../src/observability/metrics';

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
const ns = config.namespaces[0];
const TOPIC = ns.topics.targets.events;

describe('applier', () => {
  let driver: TopologyTestDriver;
  let target: ScriptedTarget;
  let completions: TxnEvent[];
  let letters: TestOutputRecord[];
  const codec = new LocalAvroCodec();
  const chunks = new ChunkCodec(codec);

  beforeEach(async () => {
    completions = [];
    letters = [];
    target = new ScriptedTarget('events');
    const topology = mutationTopology(ns, { clusters: config.clusters, codec, targetFactory: () => target, applier: { random: () => 0 } });
    driver = await TopologyTestDriver.create(topology, { namespace: ns.name, startTime: 1_800_000_000_000 });
  });
  afterEach(async () => {
    await driver.close();
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
    await driver.pipeInput(TOPIC, { value: await chunks.encode(TOPIC, record), offset: chunkIndex });
  }

  /** Outcomes the applier reported to the tracker so far. */
  const events = (): TxnEvent[] => {
    completions.push(...driver.readAllOutput(ns.topics.completions).map((r) => decodeTxnEvent(r.value)));
    return completions;
  };
  const deadLetters = (): TestOutputRecord[] => {
    letters.push(...driver.readAllOutput(ns.topics.dlq));
    return letters;
  };
  const tries = (): number[] => target.chunkTries.map((c) => c.chunkIndex);
  const applied = (): number[] => target.applied.map((c) => c.chunkIndex);
  const tick = (ms: number) => driver.advanceWallClockTime(ms);

  it('holds every later chunk behind a failed one, retries it with backoff, then applies all in order', async () => {
    target.answerChunk = (c) => (c.chunkIndex === 0 ? failed(true, 'ECONNREFUSED') : OK);
    for (const i of [0, 1, 2]) await chunk(i);
    expect(tries()).toEqual([0]); // 1 and 2 wait behind 0: same key, order kept
    expect(events()).toEqual([]);

    await tick(backoffDelay(1, BACKOFF) - 1);
    expect(tries()).toEqual([0]);
    await tick(1);
    expect(tries()).toEqual([0, 0]);
    await tick(backoffDelay(2, BACKOFF) - 1);
    expect(tries()).toEqual([0, 0]);

    // A chunk read meanwhile joins the queue behind the others.
    await chunk(3);
    expect(tries()).toEqual([0, 0]);

    target.answerChunk = () => OK;
    await tick(1);
    expect(applied()).toEqual([0, 1, 2, 3]);
    expect(events().map((e) => [e.kind, 'chunkIndex' in e ? e.chunkIndex : -1, 'attempts' in e ? e.attempts : 0])).toEqual([
      ['applied', 0, 3],
      ['applied', 1, 1],
      ['applied', 2, 1],
      ['applied', 3, 1],
    ]);
  });

  it('dead-letters a chunk once maxRetries is spent, reports it failed, and moves on to the next', async () => {
    target.answerChunk = (c) => (c.chunkIndex === 0 ? failed(true, 'ECONNREFUSED') : OK);
    await chunk(0);
    await chunk(1);
    for (let attempt = 1; attempt <= ns.maxRetries; attempt += 1) await tick(backoffDelay(attempt, BACKOFF));
    expect(tries()).toEqual([0, 0, 0, 0, 1]);

    expect(deadLetters()).toHaveLength(1);
    const headers = letters[0].headers;
    expect(headers).toMatchObject({ [DLQ_HEADERS.kind]: 'exhausted', [DLQ_HEADERS.attempts]: '4', [DLQ_HEADERS.id]: 'txn-1', [REDRIVE_HEADERS.chunkIndex]: '0', [REDRIVE_HEADERS.target]: 'events' });
    const request = await codec.decode<{ id: string; mutations: unknown[] }>(letters[0].value);
    expect(request).toMatchObject({ id: 'txn-1', mutations: [{ key: 'same-key', sequence: 0 }] });
    expect(events()).toEqual([
      expect.objectContaining({ kind: 'failed', chunkIndex: 0, attempts: 4, error: 'ECONNREFUSED' }),
      expect.objectContaining({ kind: 'applied', chunkIndex: 1, attempts: 1 }),
    ]);
  });

  it('dead-letters a permanent failure at once, without holding anything back', async () => {
    target.answerChunk = (c) => (c.chunkIndex === 1 ? failed(false, 'value too large') : OK);
    for (const i of [0, 1, 2]) await chunk(i);
    expect(applied()).toEqual([0, 2]);
    expect(deadLetters()[0].headers).toMatchObject({ [DLQ_HEADERS.kind]: 'permanent', [DLQ_HEADERS.reason]: 'value too large' });
  });

  it('dead-letters a record that is no chunk as it came', async () => {
    await driver.pipeInput(TOPIC, { key: null, value: 'garbage', offset: 5 });
    const letter = deadLetters()[0];
    expect(letter.value).toEqual(Buffer.from('garbage'));
    expect(letter.headers[DLQ_HEADERS.kind]).toBe('poison');
    expect(tries()).toEqual([]);
  });

  it('keeps held chunks on the store: a new applier on it (re-opened task) carries on', async () => {
    target.answerChunk = () => failed(true, 'down');
    await chunk(0);
    await chunk(1);
    await driver.reopen();
    target.answerChunk = () => OK;
    await tick(backoffDelay(1, BACKOFF));
    expect(applied()).toEqual([0, 1]);
  });
});

describe('applier with the DLQ disabled', () => {
  const codec = new LocalAvroCodec();
  const chunks = new ChunkCodec(codec);
  let driver: TopologyTestDriver | undefined;
  afterEach(async () => {
    await driver?.close();
    driver = undefined;
  });

  /** The `shop` namespace with `dlq: { enabled: false, onDisabled }`, a driver on it and a scripted target. */
  async function applierWithoutDlq(onDisabled: 'retain' | 'drop') {
    const namespace = parseConfig(
      `
clusters:
  primary: { brokers: 127.0.0.1:9092, schemaRegistryUrl: http://127.0.0.1:8081/apis/ccompat/v7 }
namespaces:
  - name: shop-nodlq-${onDisabled}
    partitions: 1
    maxRetries: 1
    backoff: { initialMs: 1s, maxMs: 8s, multiplier: 2, jitter: 0 }
    dlq: { enabled: false, onDisabled: ${onDisabled} }
    targets:
      events: { type: kafka, topic: shop.events }
`,
      'shop.yaml',
    ).namespaces[0];
    const target = new ScriptedTarget('events');
    const topology = mutationTopology(namespace, { clusters: config.clusters, codec, targetFactory: () => target, applier: { random: () => 0 } });
    driver = await TopologyTestDriver.create(topology, { namespace: namespace.name, startTime: 1_800_000_000_000 });
    const topic = namespace.topics.targets.events;
    const send = async (chunkIndex: number) =>
      driver!.pipeInput(topic, {
        value: await chunks.encode(topic, { namespace: namespace.name, txnId: 'txn-1', target: 'events', chunkIndex, chunkCount: 2, writeTime: 1, mutations: [{ target: 'events', key: 'k', op: 'PUT', value: Buffer.from('v'), sequence: chunkIndex }] }),
        offset: chunkIndex,
      });
    const counted = async (action: string) =>
      (await metricsRegistry.getSingleMetric('wal_dlq_disabled_total')?.get())?.values.find((v) => v.labels.namespace === namespace.name && v.labels.action === action)?.value ?? 0;
    return { namespace, target, driver, send, counted };
  }

  it('retains a chunk it would have dead-lettered at the head of its queue, tries it again at the longest backoff, and applies it and those behind it once the target takes it', async () => {
    const { namespace, target, driver: d, send, counted } = await applierWithoutDlq('retain');
    target.answerChunk = (c) => (c.chunkIndex === 0 ? failed(false, 'rejected') : OK);
    await send(0);
    await send(1);
    expect(target.chunkTries.map((c) => c.chunkIndex)).toEqual([0]); // permanent, yet kept; 1 waits behind it
    expect(await counted('retained')).toBe(1);
    expect(d.readAllOutput(namespace.topics.dlq)).toEqual([]);

    await d.advanceWallClockTime(8000 - 1);
    expect(target.chunkTries.map((c) => c.chunkIndex)).toEqual([0]);
    await d.advanceWallClockTime(1);
    expect(target.chunkTries.map((c) => c.chunkIndex)).toEqual([0, 0]);
    expect(await counted('retained')).toBe(2);

    target.answerChunk = () => OK;
    await d.advanceWallClockTime(8000);
    expect(target.applied.map((c) => c.chunkIndex)).toEqual([0, 1]);
    expect(await counted('dropped')).toBe(0);
  });

  it('with onDisabled: drop, drops the chunk, counts it and applies the next', async () => {
    const { target, send, counted } = await applierWithoutDlq('drop');
    target.answerChunk = (c) => (c.chunkIndex === 0 ? failed(false, 'rejected') : OK);
    await send(0);
    await send(1);
    expect(target.applied.map((c) => c.chunkIndex)).toEqual([1]);
    expect(await counted('dropped')).toBe(1);
    expect(await counted('retained')).toBe(0);
  });
});
