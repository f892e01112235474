import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { metricsRegistry } from '../../src/observability/metrics';
import { NamespaceRunner } from '../../src/engine';
import { DLQ_HEADERS } from '../../src/wire/headers';
import { testCluster, uniqueTopic } from '../support/clusters';
import { countingTopology, testNamespace } from '../support/runtime-fixtures/counting';
import { addCounts, consumeUntil, countsReached, createTopics, describeCounts, produceKeyed } from '../support/runtime-fixtures/topics';
import { engineOptionsOf } from '../../src/personas';
import { Task } from '../../src/engine/internals/task';
import { eventually } from '../support/timing';

jest.setTimeout(90_000);
process.env.WAL_LOG_LEVEL ??= 'warn';

const cluster = testCluster('A');
const kafka = new Kafka({ clientId: 'runtime-counting-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING });

async function restoredRecords(ns: string): Promise<number> {
  const metric = await metricsRegistry.getSingleMetric('wal_state_restore_records_total')!.get();
  return metric.values.filter((v) => v.labels.namespace === ns).reduce((n, v) => n + v.value, 0);
}

describe('a stateful counting topology on the real broker (at-least-once)', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'wal-runtime-'));
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  it('counts per key, shuts down gracefully with offsets committed, reuses local state on a clean restart, and rebuilds deleted local state from the changelog', async () => {
    const ns = uniqueTopic('count');
    const input = `${ns}.in`;
    const output = `${ns}.out`;
    await createTopics(kafka, [
      { topic: input, partitions: 4 },
      { topic: output, partitions: 4 },
    ]);
    const namespace = testNamespace(ns, { intake: input, partitions: 4 });
    const topology = countingTopology(input, output);
    const runner = () => new NamespaceRunner({ kafka, engine: engineOptionsOf(namespace), topology, stateDir, instanceId: 'i1', tuning: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 } });

    const first = await produceKeyed(kafka, input, 2000, 20);
    const r1 = runner();
    await r1.start();
    await consumeUntil(kafka, output, countsReached(first, false), 30_000, describeCounts(first));
    await r1.stop();

    // Graceful stop committed every processed offset and checkpointed every task.
    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: `wal.${ns}`, topics: [input] });
    const ends = await admin.fetchTopicOffsets(input);
    await admin.disconnect();
    expect(committed.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual(ends.map((e) => [e.partition, e.high]).sort());
    expect((await readdir(path.join(stateDir, ns, '.checkpoints'))).sort()).toEqual(['0.json', '1.json', '2.json', '3.json']);

    // A clean restart reuses the local stores: the checkpoints are current, nothing is replayed.
    const again = runner();
    await again.start();
    try {
      const deadline = Date.now() + 20_000;
      let status = await again.status();
      while (status.tasks.length < 4 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        status = await again.status();
      }
      expect(status.tasks.map((t) => t.restoredRecords)).toEqual([0, 0, 0, 0]);
    } finally {
      await again.stop();
    }

    // Lose the whole local state; the counts must continue from the changelog, not from zero.
    await rm(stateDir, { recursive: true, force: true });
    const before = await restoredRecords(ns);
    const second = await produceKeyed(kafka, input, 400, 20, 2000);
    const total = addCounts(first, second);
    const r2 = runner();
    await r2.start();
    try {
      await consumeUntil(kafka, output, countsReached(total, true), 30_000, describeCounts(total));
      expect((await restoredRecords(ns)) - before).toBeGreaterThanOrEqual(20);
    } finally {
      await r2.stop();
    }
  });

  it('sends a record whose processing throws to the dead-letter topic in the one DLQ format and keeps going', async () => {
    const ns = uniqueTopic('poison');
    const input = `${ns}.in`;
    const output = `${ns}.out`;
    const dlq = `${ns}.dlq`;
    await createTopics(kafka, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
      { topic: dlq, partitions: 1 },
    ]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: input, messages: [{ key: 'a', value: 'x' }, { key: 'a', value: 'poison' }, { key: 'a', value: 'y' }] });
    await producer.disconnect();

    const runner = new NamespaceRunner({
      kafka,
      engine: engineOptionsOf(testNamespace(ns, { intake: input, partitions: 1 })),
      topology: countingTopology(input, output, dlq),
      stateDir,
      instanceId: 'i1',
    });
    await runner.start();
    try {
      const [dead] = await consumeUntil(kafka, dlq, (r) => r.length >= 1, 30_000);
      expect(dead.value?.toString()).toBe('poison');
      expect(dead.headers?.[DLQ_HEADERS.reason]?.toString()).toBe('poison record at offset 1');
      expect(dead.headers?.[DLQ_HEADERS.kind]?.toString()).toBe('error');
      expect(dead.headers?.[DLQ_HEADERS.sourceTopic]?.toString()).toBe(input);
      expect(dead.headers?.[DLQ_HEADERS.sourcePartition]?.toString()).toBe('0');
      expect(dead.headers?.[DLQ_HEADERS.sourceOffset]?.toString()).toBe('1');
      await consumeUntil(kafka, output, countsReached(new Map([['a', 2]]), true), 30_000);
    } finally {
      await runner.stop();
    }
  });

  it('opens the task of an idle partition whose first open failed, without waiting for a record', async () => {
    const ns = uniqueTopic('count-idle');
    const input = `${ns}.in`;
    await createTopics(kafka, [
      { topic: input, partitions: 2 },
      { topic: `${ns}.out`, partitions: 2 },
    ]);
    // As on a new cluster whose changelog leaders are not elected yet: the first open of a task fails.
    const open = jest.spyOn(Task, 'open').mockRejectedValueOnce(new Error('This server is not the leader for that topic-partition'));
    const runner = new NamespaceRunner({
      kafka,
      engine: engineOptionsOf(testNamespace(ns, { intake: input, partitions: 2 })),
      topology: countingTopology(input, `${ns}.out`),
      stateDir,
      instanceId: 'i1',
    });
    await runner.start();
    try {
      // No record is ever written: both tasks open all the same (the failed one on its retry).
      const status = await eventually(async () => {
        const current = await runner.status();
        return current.tasks.length === 2 ? current : undefined;
      }, 20_000, 'both tasks open with no record written');
      expect(status.tasks.map((t) => t.partition)).toEqual([0, 1]);
      expect(open.mock.calls.length).toBeGreaterThanOrEqual(3);
    } finally {
      open.mockRestore();
      await runner.stop();
    }
  });
});
