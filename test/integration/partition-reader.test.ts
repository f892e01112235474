import { Kafka, KafkaMessage, logLevel } from 'kafkajs';
import { readPartitionRange } from '../../src/kafka/partition-reader';
import { testCluster, uniqueTopic } from '../support/clusters';

// kafkajs internals, loaded from the same module registry as the client above: the fault below is
// injected into the real client talking to the real broker.
const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup') as { prototype: { joinAndSync: () => Promise<void> } };
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode: (code: number) => Error };

const endpoints = testCluster('A');
const kafka = new Kafka({ clientId: 'partition-reader-test', brokers: endpoints.brokers, logLevel: logLevel.NOTHING });
const COORDINATOR_LOAD_IN_PROGRESS = 14;

let topic: string;

beforeAll(async () => {
  topic = uniqueTopic('reader');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer();
  await producer.connect();
  try {
    const messages = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: String(i), partition: 1 }));
    await producer.send({ topic, messages });
    await producer.send({ topic, messages: [{ value: 'other partition', partition: 0 }] });
  } finally {
    await producer.disconnect();
  }
});

afterEach(() => jest.restoreAllMocks());

async function read(from: string, until: string): Promise<string[]> {
  const seen: KafkaMessage[] = [];
  await readPartitionRange(kafka, {
    topic,
    partition: 1,
    from,
    until,
    onRecords: async (messages) => void seen.push(...messages),
    stallTimeoutMs: 30000,
    onStall: (position) => new Error(`reader stalled at ${position}`),
  });
  return seen.map((m) => `${m.offset}:${m.value?.toString()}`);
}

const expected = (from: number, until: number): string[] => Array.from({ length: until - from }, (_, i) => `${from + i}:${from + i}`);

test('reads exactly [from, until) of one partition, in order', async () => {
  expect(await read('20', '100')).toEqual(expected(20, 100));
  expect(await read('0', '5')).toEqual(expected(0, 5));
  expect(await read('50', '50')).toEqual([]);
});

test('a first join that fails ("coordinator loading", as on a fresh cluster) is retried and still starts at `from`', async () => {
  const realJoin = ConsumerGroup.prototype.joinAndSync;
  let failed = 0;
  const join = jest.spyOn(ConsumerGroup.prototype, 'joinAndSync').mockImplementation(function (this: unknown) {
    if (failed === 0) {
      failed++;
      return Promise.reject(createErrorFromCode(COORDINATOR_LOAD_IN_PROGRESS));
    }
    return realJoin.call(this);
  });
  expect(await read('30', '60')).toEqual(expected(30, 60));
  expect(failed).toBe(1);
  expect(join.mock.calls.length).toBeGreaterThanOrEqual(2);
});
