import net from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { parseConfig } from '../../src/namespaces';
import type { WalConfig } from '../../src/namespaces';
import { createWalWriter, WalWriter, WriteRequest } from '../../src/api';
import { createAvroCodec, WriteToLogRequest } from '../../src/wire';
import { testCluster, uniqueTopic } from '../support/clusters';

const cluster = testCluster('A');
const kafka = new Kafka({ clientId: 'write-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
const TIMEOUT_MS = 4000;

function walConfig(intake: string, overrides: { brokers?: string; registryUrl?: string } = {}): WalConfig {
  return parseConfig(
    `
clusters:
  A:
    brokers: ${overrides.brokers ?? cluster.brokers.join(',')}
    schemaRegistryUrl: ${overrides.registryUrl ?? cluster.registryUrl}
namespaces:
  - name: orders
    cluster: A
    partitions: 2
    topics: { intake: ${intake} }
    maxPayloadBytes: 1KiB
    delay: { defaultDelayMs: 0, maxDelayMs: 1h }
    targets:
      events: { type: kafka, topic: ${intake}-delivered }
`,
    'write.test.yaml',
  );
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface ReadRecord {
  key: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
  value: WriteToLogRequest;
}

/** Every record on the topic, decoded; waits until `count` arrived (bounded). */
async function readTopic(topic: string, count: number): Promise<ReadRecord[]> {
  const codec = createAvroCodec({ registryUrl: cluster.registryUrl });
  const consumer = kafka.consumer({ groupId: uniqueTopic('write-test-reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const records: ReadRecord[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${records.length} of ${count} records on ${topic} within 20 s`)), 20000);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
          records.push({ key: String(message.key), partition, offset: message.offset, headers, value: await codec.decode<WriteToLogRequest>(message.value) });
          if (records.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

async function endOffsets(topic: string): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.map((o) => `${o.partition}:${o.high}`).sort().join(',');
  } finally {
    await admin.disconnect();
  }
}

describe('writeToLog against the real broker and registry', () => {
  const intake = uniqueTopic('write-intake');
  const config = walConfig(intake);
  let writer: WalWriter;

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: intake, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    writer = createWalWriter({ config, timeoutMs: TIMEOUT_MS });
  });

  afterAll(async () => {
    await writer.close();
  });

  it('answers durable true only after the broker acked, and the record on the intake topic decodes to the request', async () => {
    const result = await writer.writeToLog({
      namespace: 'orders',
      id: 'order-42',
      lifecycle: { delayMs: 30000 },
      payload: { order: 42 },
      target: 'events',
      headers: { tenant: 'acme' },
    });
    expect(result).toMatchObject({ durable: 'true', id: 'order-42', partition: expect.any(Number), offset: expect.any(String) });
    expect(writer.isReady()).toBe(true);

    const [record] = await readTopic(intake, 1);
    expect(record).toMatchObject({ key: 'order-42', partition: result.partition, offset: result.offset, headers: { 'wal-id': 'order-42', 'wal-namespace': 'orders' } });
    expect(record.value).toEqual({
      namespace: 'orders',
      id: 'order-42',
      lifecycle: { writeTime: expect.any(Number), delayMs: 30000, deliverAt: null },
      payload: Buffer.from('{"order":42}'),
      contentType: 'application/json',
      target: 'events',
      headers: { tenant: 'acme' },
      mutations: [],
    });
    expect(Math.abs(record.value.lifecycle.writeTime - Date.now())).toBeLessThan(60000);
  });

  it.each<[string, WriteRequest, RegExp]>([
    ['an unknown namespace', { namespace: 'nope', payload: 'x' }, /namespace: 'nope' is not configured \(namespaces: orders\)/],
    ['a missing payload', { namespace: 'orders' }, /payload: is required/],
    ['a missing namespace', { payload: 'x' } as unknown as WriteRequest, /namespace: is required/],
    ['a negative delay', { namespace: 'orders', payload: 'x', lifecycle: { delayMs: -1 } }, /lifecycle.delayMs: must be a non-negative integer of milliseconds, got -1/],
    ['a delay over maxDelayMs', { namespace: 'orders', payload: 'x', lifecycle: { delayMs: 7_200_000 } }, /over the 3600000 ms limit \(maxDelayMs\)/],
    ['a payload over maxPayloadBytes', { namespace: 'orders', payload: 'x'.repeat(2000) }, /payload: is 2000 bytes, over the 1024-byte limit/],
    ['an unknown target', { namespace: 'orders', payload: 'x', target: 'billing' }, /target: 'billing' is not a target of namespace 'orders' \(targets: events\)/],
    ['an unparseable deliverAt', { namespace: 'orders', payload: 'x', lifecycle: { deliverAt: 'tomorrow' } }, /lifecycle.deliverAt: must be epoch milliseconds or an ISO-8601/],
    ['both delayMs and deliverAt', { namespace: 'orders', payload: 'x', lifecycle: { delayMs: 5, deliverAt: Date.now() } }, /give one/],
  ])('answers durable false for %s, naming the problem, and writes nothing', async (_what, request, message) => {
    const before = await endOffsets(intake);
    const result = await writer.writeToLog(request);
    expect(result.durable).toBe('false');
    expect(result.message).toMatch(message);
    expect(result.message).toMatch(/^nothing was written/);
    expect(await endOffsets(intake)).toBe(before);
  });

  it('accepts a deliverAt in the past (deliver now) and generates a UUID id when none is given', async () => {
    const past = '2020-01-01T00:00:00.000Z';
    const result = await writer.writeToLog({ namespace: 'orders', payload: 'late', lifecycle: { deliverAt: past } });
    expect(result).toMatchObject({ durable: 'true', id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/) });
    const again = await writer.writeToLog({ namespace: 'orders', id: result.id, payload: 'late', lifecycle: { deliverAt: past } });
    // Same id, same key: a retry lands on the same partition, where downstream dedupes it.
    expect(again).toMatchObject({ durable: 'true', partition: result.partition });
  });

  it('writeBatch answers per item and sends the valid ones together', async () => {
    const topic = uniqueTopic('write-batch');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const batchWriter = createWalWriter({ config: walConfig(topic), timeoutMs: TIMEOUT_MS });
    try {
      const requests: WriteRequest[] = Array.from({ length: 20 }, (_, i) => ({ namespace: 'orders', id: `b-${i}`, payload: { i } }));
      requests.splice(5, 0, { namespace: 'orders', id: 'bad', payload: 'x', lifecycle: { delayMs: -3 } });
      const results = await batchWriter.writeBatch(requests);
      expect(results.map((r) => r.durable)).toEqual(requests.map((r) => (r.id === 'bad' ? 'false' : 'true')));
      const positions = results.filter((r) => r.durable === 'true').map((r) => `${r.partition}:${r.offset}`);
      expect(new Set(positions).size).toBe(20);

      const records = await readTopic(topic, 20);
      for (const r of results.filter((x) => x.durable === 'true')) {
        const found = records.find((rec) => rec.key === r.id);
        expect(found && `${found.partition}:${found.offset}`).toBe(`${r.partition}:${r.offset}`);
      }
    } finally {
      await batchWriter.close();
    }
  });

  it('answers durable false when the intake topic was never provisioned', async () => {
    const missing = createWalWriter({ config: walConfig(uniqueTopic('write-missing')), timeoutMs: TIMEOUT_MS });
    try {
      const started = Date.now();
      const result = await missing.writeToLog({ namespace: 'orders', payload: 'x' });
      expect(result).toMatchObject({ durable: 'false', reason: 'rejected-by-broker', message: expect.stringMatching(/UNKNOWN_TOPIC_OR_PARTITION|does it exist/) });
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1500);
    } finally {
      await missing.close();
    }
  });
});

describe('writeToLog when a dependency is down', () => {
  it('answers false (or unknown) within the timeout when no broker listens', async () => {
    const writer = createWalWriter({ config: walConfig(uniqueTopic('write-nobroker'), { brokers: `127.0.0.1:${await closedPort()}` }), timeoutMs: 3000 });
    try {
      const started = Date.now();
      const result = await writer.writeToLog({ namespace: 'orders', id: 'no-broker', payload: 'x' });
      const elapsed = Date.now() - started;
      expect(['false', 'unknown']).toContain(result.durable);
      expect(result.durable).toBe('false');
      expect(result.message).toMatch(/cluster 'A'/);
      expect(result.message).toMatch(/retrying with the same id \(no-broker\) is safe/);
      expect(elapsed).toBeLessThan(3000 + 1000);
      expect(writer.isReady()).toBe(false);
    } finally {
      await writer.close();
    }
  });

  it('answers false with the reason when the registry is unreachable, before anything is sent', async () => {
    const intake = uniqueTopic('write-noregistry');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: intake, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const writer = createWalWriter({ config: walConfig(intake, { registryUrl: `http://127.0.0.1:${await closedPort()}/apis/ccompat/v7` }), timeoutMs: 3000 });
    try {
      const result = await writer.writeToLog({ namespace: 'orders', payload: 'x' });
      expect(result).toMatchObject({ durable: 'false', reason: 'registry-unavailable', message: expect.stringMatching(/schema registry at http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7 is unavailable.*ECONNREFUSED/) });
      expect(await endOffsets(intake)).toBe('0:0');
    } finally {
      await writer.close();
    }
  });
});
