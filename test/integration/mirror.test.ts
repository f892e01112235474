import { ConfigResourceTypes } from 'kafkajs';
import { metricsRegistry } from '../../src/observability/metrics';
import { MirrorRunner } from '../../src/mirror';
import { ORIGIN_HEADERS } from '../../src/wire/headers';
import { testCluster, uniqueTopic } from '../support/clusters';
import {
  createTopic,
  eventually,
  headerText,
  kafkaFor,
  mirrorConfig,
  produceRecords,
  readTopic,
  TEST_TUNING,
  type ReadRecord,
  type SourceRecord,
} from '../support/mirror-fixture';

jest.setTimeout(90_000);

const A = testCluster('A');
const B = testCluster('B');
const kafkaA = kafkaFor(A);
const kafkaB = kafkaFor(B);

async function clusterId(kafka: typeof kafkaA): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.describeCluster()).clusterId;
  } finally {
    await admin.disconnect();
  }
}

async function metricValue(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await metricsRegistry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values.find((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x))?.value;
}

function byPartition<T extends { partition: number }>(records: T[]): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const r of records) out.set(r.partition, [...(out.get(r.partition) ?? []), r]);
  return out;
}

function asWritten(r: ReadRecord): Omit<SourceRecord, 'partition'> {
  return {
    key: r.message.key!.toString(),
    value: r.message.value!.toString(),
    timestamp: r.message.timestamp,
    headers: { seq: headerText(r.message, 'seq')!, tag: headerText(r.message, 'tag')! },
  };
}

const running: MirrorRunner[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

function startMirror(...args: Parameters<typeof mirrorConfig>): MirrorRunner {
  const { config, namespace } = mirrorConfig(...args);
  const runner = new MirrorRunner({ config, namespace, instanceId: 'test', tuning: TEST_TUNING });
  running.push(runner);
  return runner;
}

describe('mirror A → B (at-least-once, prefix names)', () => {
  it('copies 50k records with keys, headers and timestamps: identical content, same partition and order, topic created like the source', async () => {
    const ns = uniqueTopic('mirror-50k');
    const topic = `${ns}.orders`;
    await createTopic(kafkaA, topic, 4, { 'retention.ms': '86400000', 'max.message.bytes': '2000000' });
    const written = await produceRecords(kafkaA, topic, { count: 50_000, partitions: 4, tag: 'a' });

    const runner = startMirror([A, B], { namespace: ns, source: 'A', target: 'B', topics: [topic] });
    const started = Date.now();
    await runner.start();
    const copied = await readTopic(kafkaB, `A.${topic}`, (r) => r.length >= 50_000, 75_000, { settleMs: 1000 });
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`mirrored 50000 records A→B in ${seconds.toFixed(1)} s (${Math.round(50_000 / seconds)} records/s incl. start)\n`);

    expect(copied).toHaveLength(50_000);
    const sourceId = await clusterId(kafkaA);
    const want = byPartition(written);
    const got = byPartition(copied);
    expect([...got.keys()].sort()).toEqual([0, 1, 2, 3]);
    for (const [partition, records] of want) {
      expect({ partition, records: got.get(partition)!.map(asWritten) }).toEqual({ partition, records: records.map(({ partition: _p, ...r }) => r) });
    }
    expect(headerText(copied[0].message, ORIGIN_HEADERS.clusterId)).toBe(sourceId);
    expect(headerText(copied[0].message, ORIGIN_HEADERS.alias)).toBe('A');

    // Created with the source's partition count and topic-level configs.
    const admin = kafkaB.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [`A.${topic}`] });
      expect(topics[0].partitions).toHaveLength(4);
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: `A.${topic}`, configNames: ['retention.ms', 'max.message.bytes', 'cleanup.policy'] }],
      });
      const configs = Object.fromEntries(resources[0].configEntries.map((e) => [e.configName, e.configValue]));
      expect(configs).toEqual({ 'retention.ms': '86400000', 'max.message.bytes': '2000000', 'cleanup.policy': 'delete' });
    } finally {
      await admin.disconnect();
    }

    // Lag per source partition drops to 0 (records and seconds), counted records match.
    const labels = { namespace: ns, source: 'A', target: 'B', topic };
    await eventually(async () => {
      const lags = await Promise.all([0, 1, 2, 3].map((p) => metricValue('wal_mirror_lag_records', { ...labels, partition: String(p) })));
      return lags.every((l) => l === 0) ? true : undefined;
    }, 15_000, 'lag metrics at 0');
    expect(await metricValue('wal_mirror_lag_seconds', { ...labels, partition: '0' })).toBe(0);
    expect(await metricValue('wal_mirror_records_total', labels)).toBe(50_000);
    const status = await runner.status();
    expect(status.mirror.links[0].topics).toEqual([{ source: topic, target: `A.${topic}` }]);
    expect(status.mirror.links[0].partitions.map((p) => p.lag)).toEqual([0, 0, 0, 0]);

    // A graceful stop leaves the source group with its positions committed.
    await runner.stop();
    const sourceAdmin = kafkaA.admin();
    await sourceAdmin.connect();
    try {
      const groupId = status.mirror.links[0].groupId;
      const { groups } = await sourceAdmin.describeGroups([groupId]);
      expect(groups[0].members).toHaveLength(0);
      const [committed] = await sourceAdmin.fetchOffsets({ groupId, topics: [topic] });
      expect(committed.partitions.map((p) => Number(p.offset)).reduce((a, b) => a + b, 0)).toBe(50_000);
    } finally {
      await sourceAdmin.disconnect();
    }
  });
});

describe('mirror A → B (exactly-once)', () => {
  it('commits the batches fetched together in one transaction: exactly the source records in order, more records per transaction than one partition fetch holds', async () => {
    const ns = uniqueTopic('mirror-eos-group');
    const topic = `${ns}.orders`;
    await createTopic(kafkaA, topic, 4);
    const written = await produceRecords(kafkaA, topic, { count: 8000, partitions: 4, tag: 'e', chunk: 100 });
    // 8 KiB fetches: one partition's batch holds at most ~300 of these ~33-byte records (one 25-record producer batch over the limit at most).
    const onePartitionFetch = 300;
    const { config, namespace } = mirrorConfig([A, B], { namespace: ns, source: 'A', target: 'B', topics: [topic], guarantee: 'exactly-once' });
    const runner = new MirrorRunner({ config, namespace, instanceId: 'test', tuning: { ...TEST_TUNING, maxBytesPerPartition: 8 * 1024 } });
    running.push(runner);
    await runner.start();
    const copied = await readTopic(kafkaB, `A.${topic}`, (r) => r.length >= 8000, 75_000, { settleMs: 1000 });

    expect(copied).toHaveLength(8000);
    const want = byPartition(written);
    const got = byPartition(copied);
    for (const [partition, records] of want) {
      expect({ partition, values: got.get(partition)!.map((r) => r.message.value!.toString()) }).toEqual({ partition, values: records.map((r) => r.value) });
    }
    const labels = { namespace: ns, source: 'A', target: 'B' };
    await eventually(async () => ((await metricValue('wal_mirror_records_total', { ...labels, topic })) === 8000 ? true : undefined), 15_000, 'all records counted');
    const transactions = (await metricValue('wal_mirror_transactions_total', labels))!;
    process.stdout.write(`exactly-once: 8000 records in ${transactions} transactions\n`);
    expect(8000 / transactions).toBeGreaterThan(onePartitionFetch);

    // The source group offsets follow the committed positions: all of them once stopped.
    const groupId = (await runner.status()).mirror.links[0].groupId;
    await runner.stop();
    const sourceAdmin = kafkaA.admin();
    await sourceAdmin.connect();
    try {
      const [committed] = await sourceAdmin.fetchOffsets({ groupId, topics: [topic] });
      expect(committed.partitions.map((p) => Number(p.offset)).reduce((a, b) => a + b, 0)).toBe(8000);
    } finally {
      await sourceAdmin.disconnect();
    }
  });
});

describe('active-active A ⇄ B with identity names', () => {
  it('delivers records written on each side once to the other side, and none loops back', async () => {
    const ns = uniqueTopic('mirror-aa');
    const topic = `${ns}.events`;
    await Promise.all([createTopic(kafkaA, topic, 3), createTopic(kafkaB, topic, 3)]);
    const ab = startMirror([A, B], { namespace: `${ns}-ab`, source: 'A', target: 'B', topics: [topic], rename: 'identity' });
    const ba = startMirror([A, B], { namespace: `${ns}-ba`, source: 'B', target: 'A', topics: [topic], rename: 'identity' });
    await Promise.all([ab.start(), ba.start()]);

    const [fromA, fromB] = await Promise.all([
      produceRecords(kafkaA, topic, { count: 2000, partitions: 3, tag: 'a', chunk: 200, pauseMs: 20 }),
      produceRecords(kafkaB, topic, { count: 2000, partitions: 3, tag: 'b', chunk: 200, pauseMs: 20 }),
    ]);
    const expected = [...fromA, ...fromB].map((r) => r.value).sort();
    // Read on for 3 s after both sides are complete: anything looping would show up as extra records.
    const [onA, onB] = await Promise.all([
      readTopic(kafkaA, topic, (r) => r.length >= 4000, 60_000, { settleMs: 3000 }),
      readTopic(kafkaB, topic, (r) => r.length >= 4000, 60_000, { settleMs: 3000 }),
    ]);
    expect(onA.map((r) => r.message.value!.toString()).sort()).toEqual(expected);
    expect(onB.map((r) => r.message.value!.toString()).sort()).toEqual(expected);
    const [idA, idB] = await Promise.all([clusterId(kafkaA), clusterId(kafkaB)]);
    expect(new Set(onA.filter((r) => r.message.value!.toString().startsWith('b-')).map((r) => headerText(r.message, ORIGIN_HEADERS.clusterId)))).toEqual(new Set([idB]));
    expect(new Set(onB.filter((r) => r.message.value!.toString().startsWith('a-')).map((r) => headerText(r.message, ORIGIN_HEADERS.clusterId)))).toEqual(new Set([idA]));
    const skippedByAB = await metricValue('wal_mirror_records_skipped_total', { namespace: `${ns}-ab`, source: 'A', target: 'B', topic });
    expect(skippedByAB).toBe(2000);
  });
});

describe('topic discovery', () => {
  it('mirrors a topic created later that matches the pattern, without a restart, and ignores one that does not', async () => {
    const ns = uniqueTopic('mirror-re');
    const first = `${ns}.one`;
    const later = `${ns}.two`;
    const other = `${ns}-other`;
    await createTopic(kafkaA, first, 2);
    await produceRecords(kafkaA, first, { count: 300, partitions: 2, tag: 'one' });
    const runner = startMirror([A, B], { namespace: ns, source: 'A', target: 'B', topicPattern: `${ns.replace(/[-.]/g, '\\$&')}\\..*` });
    await runner.start();
    await readTopic(kafkaB, `A.${first}`, (r) => r.length >= 300, 30_000);

    await Promise.all([createTopic(kafkaA, later, 3), createTopic(kafkaA, other, 1)]);
    const createdAt = Date.now();
    await Promise.all([
      produceRecords(kafkaA, later, { count: 300, partitions: 3, tag: 'two' }),
      produceRecords(kafkaA, other, { count: 10, partitions: 1, tag: 'other' }),
      produceRecords(kafkaA, first, { count: 100, partitions: 2, tag: 'one', start: 300 }),
    ]);
    const copied = await readTopic(kafkaB, `A.${later}`, (r) => r.length >= 300, 45_000);
    process.stdout.write(`new topic mirrored ${((Date.now() - createdAt) / 1000).toFixed(1)} s after creation\n`);
    expect(copied.map((r) => r.message.value!.toString()).sort()).toEqual(Array.from({ length: 300 }, (_, i) => `two-${i}`).sort());
    await readTopic(kafkaB, `A.${first}`, (r) => r.length >= 400, 30_000);

    const admin = kafkaB.admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      expect(topics).toContain(`A.${later}`);
      expect(topics).not.toContain(`A.${other}`);
    } finally {
      await admin.disconnect();
    }
    const status = await runner.status();
    expect(status.state).toBe('running');
    expect(status.mirror.links[0].topics.map((t) => t.source)).toEqual([first, later]);
  });
});
