import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { NamespaceRunner, TopologyBuilder, type Processor, type ProcessorContext, type WalRecord } from '../../src/engine';
import { testCluster, uniqueTopic } from '../support/clusters';
import { testNamespace } from '../support/runtime-fixtures/counting';
import { consumeUntil, createTopics } from '../support/runtime-fixtures/topics';
import { engineOptionsOf } from '../../src/personas';

jest.setTimeout(90_000);
process.env.WAL_LOG_LEVEL ??= 'warn';

const cluster = testCluster('A');
const kafka = new Kafka({ clientId: 'runtime-large-output-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING });

const FAN = 100;
const VALUE_BYTES = 20_000;

/** Each input record becomes FAN records of 20 KB, ~2 MB for one partition in one flush (a mass dead-lettering, say). */
class ExplodingProcessor implements Processor {
  private context!: ProcessorContext;
  init(context: ProcessorContext): void {
    this.context = context;
  }
  process(record: WalRecord): void {
    for (let i = 0; i < FAN; i += 1) this.context.forward({ key: Buffer.from(`${record.key?.toString()}-${i}`), value: Buffer.alloc(VALUE_BYTES, i), partition: 0 });
  }
}

describe('task output larger than one record batch may be', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'wal-large-out-'));
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  it('reaches the output topic whole: the flush is split into requests under max.message.bytes (1 MiB default)', async () => {
    const ns = uniqueTopic('large-out');
    const input = `${ns}.in`;
    const output = `${ns}.out`;
    await createTopics(kafka, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const topology = new TopologyBuilder().addSource('in', input).addProcessor('explode', () => new ExplodingProcessor(), 'in').addSink('out', output, 'explode').build();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: input, acks: -1, messages: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }, { key: 'c', value: '3' }] });
    await producer.disconnect();

    const runner = new NamespaceRunner({ kafka, engine: engineOptionsOf(testNamespace(ns, { intake: input, partitions: 1 })), topology, stateDir, instanceId: 'i1', tuning: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 } });
    await runner.start();
    try {
      // Sent as one ~6 MB batch for partition 0, the broker refuses it (MESSAGE_TOO_LARGE) on every retry.
      const records = await consumeUntil(kafka, output, (r) => r.length >= 3 * FAN, 45_000);
      expect(records).toHaveLength(3 * FAN);
      expect(records.map((r) => r.key?.toString())).toEqual(['a', 'b', 'c'].flatMap((k) => Array.from({ length: FAN }, (_, i) => `${k}-${i}`)));
      expect(records.every((r) => r.value?.length === VALUE_BYTES)).toBe(true);
    } finally {
      await runner.stop();
    }
  });
});
