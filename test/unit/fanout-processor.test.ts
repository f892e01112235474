import { parseConfig } from '../../src/namespaces';
import { TopologyTestDriver } from '../../src/engine';
import {
  ChunkCodec,
  decodeTxnEvent,
  FanoutRetryError,
  keyPartition,
  mutationTopology,
  type ChunkRecord,
  type TxnStatus,
} from '../../src/mutations';
import { txnStatusKey } from '../../src/mutations/txn-tracker';
import { CHUNK_HEADERS, DLQ_HEADERS, INTAKE_HEADERS, REDRIVE_HEADERS } from '../../src/wire/headers';
import type { Mutation, WriteToLogRequest } from '../../src/wire';
import { encodeRequest, LocalAvroCodec, writeRequest } from '../support/avro-codec';
import { ScriptedTarget } from '../support/scripted-target';
import { metricsRegistry } from '../../src/observability/metrics';

const config = parseConfig(
  `
clusters:
  primary: { brokers: 127.0.0.1:9092, schemaRegistryUrl: http://127.0.0.1:8081/apis/ccompat/v7 }
namespaces:
  - name: shop
    partitions: 4
    chunking: { chunkSize: 2 }
    targets:
      orders: { type: postgres, connectionString: postgres://u@h/db, table: orders }
      cache: { type: redis, url: redis://h:6379 }
`,
  'shop.yaml',
);
const ns = config.namespaces[0];
const T0 = 1_800_000_000_000;

const put = (target: string, key: string, sequence: number): Mutation => ({ target, key, op: 'PUT', value: Buffer.from(`${key}@${sequence}`), sequence });

describe('fan-out (mutation topology on the test driver)', () => {
  let driver: TopologyTestDriver;
  let codec: LocalAvroCodec;
  let targets: Map<string, ScriptedTarget>;
  beforeEach(async () => {
    codec = new LocalAvroCodec();
    targets = new Map(Object.keys(ns.targets).map((name) => [name, new ScriptedTarget(name)]));
    const topology = mutationTopology(ns, { clusters: config.clusters, codec, targetFactory: (name) => targets.get(name)! });
    driver = await TopologyTestDriver.create(topology, { namespace: ns.name, startTime: T0 });
  });
  afterEach(async () => {
    await driver.close();
  });

  const intake = async (id: string, overrides: Partial<WriteToLogRequest>, headers: Record<string, string> = {}) => ({
    key: id,
    value: await encodeRequest(codec, ns, writeRequest(ns, id, overrides)),
    headers,
  });

  /** Pipes what one topic received into the same topic, as the broker would hand it to the next reader. */
  async function relay(topic: string): Promise<void> {
    const records = driver.readAllOutput(topic);
    await driver.pipeInputs(topic, records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })));
  }

  it("writes a request's mutations as chunks on each target's topic, partitioned by key, and one begin event", async () => {
    const mutations = [put('orders', 'o1', 1), put('orders', 'o2', 1), put('orders', 'o3', 1), put('cache', 'c1', 1)];
    await driver.pipeInput(ns.topics.intake, await intake('txn-1', { mutations }));

    const orders = driver.readAllOutput(ns.topics.targets.orders);
    const cache = driver.readAllOutput(ns.topics.targets.cache);
    const chunks = new ChunkCodec(codec);
    const decoded: ChunkRecord[] = await Promise.all([...orders, ...cache].map((r) => chunks.decode(r.value)));
    expect(decoded.map((c) => [c.target, c.chunkIndex, c.chunkCount, c.mutations.map((m) => m.key)])).toEqual(
      expect.arrayContaining([
        ['orders', expect.any(Number), 3, expect.any(Array)],
        ['cache', expect.any(Number), 3, ['c1']],
      ]),
    );
    expect(decoded.flatMap((c) => c.mutations.map((m) => m.key)).sort()).toEqual(['c1', 'o1', 'o2', 'o3']);
    for (const [i, record] of [...orders, ...cache].entries()) {
      const chunk = decoded[i];
      expect(record.key).toEqual(Buffer.from(`txn-1:${chunk.chunkIndex}`));
      expect(record.headers).toEqual({ [CHUNK_HEADERS.txnId]: 'txn-1', [CHUNK_HEADERS.chunkIndex]: String(chunk.chunkIndex), [CHUNK_HEADERS.chunkCount]: '3' });
      expect(record.partition).toBe(keyPartition(chunk.mutations[0].key, ns.partitions));
      expect(chunk.mutations.every((m) => keyPartition(m.key, ns.partitions) === record.partition)).toBe(true);
    }

    const events = driver.readAllOutput(ns.topics.completions);
    expect(events).toHaveLength(1);
    expect(events[0].partition).toBe(keyPartition('txn-1', ns.partitions));
    expect(decodeTxnEvent(events[0].value)).toEqual({ kind: 'begin', txnId: 'txn-1', chunkCount: 3, targets: { orders: 2, cache: 1 }, writeTime: 1_000, at: T0 });
  });

  it('carries a transaction through appliers and tracker: every mutation applied, the transaction complete', async () => {
    await driver.pipeInput(ns.topics.intake, await intake('txn-2', { mutations: [put('orders', 'o1', 1), put('cache', 'c1', 1), put('cache', 'c2', 2)] }));
    await relay(ns.topics.targets.orders);
    await relay(ns.topics.targets.cache);
    expect(targets.get('orders')!.applied.flatMap((c) => c.mutations.map((m) => m.key))).toEqual(['o1']);
    expect(targets.get('cache')!.applied.flatMap((c) => c.mutations.map((m) => m.key)).sort()).toEqual(['c1', 'c2']);

    await relay(ns.topics.completions);
    const stored = await driver.getStore('txns').get(txnStatusKey('txn-2'));
    const status = JSON.parse(stored!.toString()) as TxnStatus;
    expect(status.status).toBe('complete');
  });

  it('re-writes only the chunk a re-drive names, and says so to the tracker', async () => {
    const headers = { [REDRIVE_HEADERS.target]: 'orders', [REDRIVE_HEADERS.chunkIndex]: '1', [REDRIVE_HEADERS.chunkCount]: '3' };
    await driver.pipeInput(ns.topics.intake, await intake('txn-3', { mutations: [put('orders', 'o9', 4)] }, headers));
    const [chunk] = driver.readAllOutput(ns.topics.targets.orders);
    expect(await new ChunkCodec(codec).decode(chunk.value)).toMatchObject({ txnId: 'txn-3', chunkIndex: 1, chunkCount: 3 });
    expect(decodeTxnEvent(driver.readOutput(ns.topics.completions)!.value)).toMatchObject({ kind: 'redrive', target: 'orders', chunkIndex: 1 });
  });

  it('honours a replay to one target (wal dlq replay --to-target): its own chunk goes through, a mutation for another target is dead-lettered, never applied', async () => {
    const toOrders = { [INTAKE_HEADERS.toTarget]: 'orders' };
    await driver.pipeInput(ns.topics.intake, await intake('txn-5', { mutations: [put('orders', 'o5', 1)] }, { ...toOrders, [REDRIVE_HEADERS.target]: 'orders', [REDRIVE_HEADERS.chunkIndex]: '0', [REDRIVE_HEADERS.chunkCount]: '2' }));
    expect(driver.readAllOutput(ns.topics.targets.orders)).toHaveLength(1);
    await driver.pipeInput(ns.topics.intake, await intake('txn-6', { mutations: [put('orders', 'o6', 1), put('cache', 'c6', 1)] }, toOrders));
    expect(driver.readAllOutput(ns.topics.targets.orders)).toEqual([]);
    expect(driver.readAllOutput(ns.topics.targets.cache)).toEqual([]);
    expect(driver.readOutput(ns.topics.dlq)!.headers).toMatchObject({ [DLQ_HEADERS.kind]: 'permanent', [DLQ_HEADERS.reason]: 'replayed to target "orders" but holds a mutation for target "cache", which only that target can apply' });
  });

  it('dead-letters a request without mutations as permanent, and an undecodable record as poison', async () => {
    await driver.pipeInput(ns.topics.intake, await intake('plain', {}));
    await driver.pipeInput(ns.topics.intake, { key: 'junk', value: 'not avro' });
    const letters = driver.readAllOutput(ns.topics.dlq);
    expect(letters.map((l) => [l.headers[DLQ_HEADERS.kind], l.headers[DLQ_HEADERS.reason]])).toEqual([
      ['permanent', 'request plain has no mutations: nothing to fan out'],
      ['poison', expect.stringMatching(/^MalformedRecordError/)],
    ]);
    expect(letters[1].value).toEqual(Buffer.from('not avro'));
    expect(driver.outputTopics()).toEqual([]);
  });

  it('fails the commit when the registry is away, forwarding nothing, so the task reads the request again', async () => {
    const input = await intake('txn-4', { mutations: [put('orders', 'o1', 1)] });
    codec.registryDown = true;
    await expect(driver.pipeInput(ns.topics.intake, input)).rejects.toThrow(FanoutRetryError);
    expect(driver.outputTopics()).toEqual([]);

    codec.registryDown = false;
    await driver.pipeInput(ns.topics.intake, input);
    expect(driver.readAllOutput(ns.topics.targets.orders)).toHaveLength(1);
  });
});

describe('fan-out with the DLQ disabled', () => {
  it('drops a request it can never split, counted as dropped whatever onDisabled says (it keeps no store to retain it in)', async () => {
    const namespace = parseConfig(
      `
clusters:
  primary: { brokers: 127.0.0.1:9092, schemaRegistryUrl: http://127.0.0.1:8081/apis/ccompat/v7 }
namespaces:
  - name: shop-nodlq
    dlq: { enabled: false }
    targets:
      cache: { type: redis, url: redis://h:6379 }
`,
      'shop.yaml',
    ).namespaces[0];
    const codec = new LocalAvroCodec();
    const driver = await TopologyTestDriver.create(mutationTopology(namespace, { clusters: config.clusters, codec, targetFactory: (name) => new ScriptedTarget(name) }), { namespace: namespace.name, startTime: T0 });
    const dropped = async () =>
      (await metricsRegistry.getSingleMetric('wal_dlq_disabled_total')?.get())?.values.find((v) => v.labels.namespace === 'shop-nodlq' && v.labels.action === 'dropped')?.value ?? 0;
    try {
      await driver.pipeInput(namespace.topics.intake, { key: 'plain', value: await encodeRequest(codec, namespace, writeRequest(namespace, 'plain', {})) });
      await driver.pipeInput(namespace.topics.intake, { key: 'junk', value: 'not avro' });
      expect(await dropped()).toBe(2);
      expect(driver.outputTopics()).toEqual([]);
    } finally {
      await driver.close();
    }
  });
});
