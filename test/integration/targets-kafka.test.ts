import { Admin, IHeaders, ITopicConfig, Kafka, KafkaMessage, logLevel } from 'kafkajs';
import type { ClusterConfig, KafkaTargetConfig } from '../../src/namespaces/types';
import { freePort } from '../../src/devcluster/ports';
import { createTarget, Delivery, Target } from '../../src/targets';
import { KAFKA_TARGET_HEADERS } from '../../src/wire/headers';
import { testCluster, uniqueTopic } from '../support/clusters';

const endpoints = testCluster('A');
const clusters: Record<string, ClusterConfig> = {
  A: { name: 'A', brokers: endpoints.brokers, schemaRegistryUrl: endpoints.registryUrl },
};
const kafka = new Kafka({ clientId: 'targets-kafka-test', brokers: endpoints.brokers, logLevel: logLevel.NOTHING });

function delivery(id: string, value: string | Buffer, key: string | null = id): Delivery {
  return {
    id,
    key: key === null ? null : Buffer.from(key),
    payload: Buffer.isBuffer(value) ? value : Buffer.from(value),
    headers: { tenant: 'acme' },
    contentType: 'application/json',
    attempt: 1,
  };
}

function kafkaTarget(topic: string, cluster = 'A'): Target {
  const config: KafkaTargetConfig = { type: 'kafka', topic, cluster, partitions: 3 };
  return createTarget('out', config, clusters);
}

/** Reads `count` records from the start of `topic` (a fresh group), or fails after `timeoutMs`. */
async function readRecords(topic: string, count: number, timeoutMs = 30000): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: `${topic}-reader` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const records: KafkaMessage[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${records.length} of ${count} records from ${topic} within ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          records.push(message);
          if (records.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    return records;
  } finally {
    await consumer.disconnect();
  }
}

const text = (headers: IHeaders | undefined, name: string): string | undefined => headers?.[name]?.toString();

async function recordCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

/**
 * createTopics' own leader wait sometimes trips over UNKNOWN_TOPIC_OR_PARTITION on a busy broker even
 * though the topic was created; then poll metadata until every partition has a leader (bounded).
 */
async function createTopic(admin: Admin, spec: ITopicConfig): Promise<void> {
  try {
    await admin.createTopics({ topics: [spec], waitForLeaders: true });
    return;
  } catch (error) {
    if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
  }
  const deadline = Date.now() + 15000;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [spec.topic] });
      if (topics[0]?.partitions.length && topics[0].partitions.every((p) => p.leader >= 0)) return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`topic ${spec.topic} has no leaders after 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('Kafka target', () => {
  let admin: Admin;
  let target: Target | undefined;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
  });
  afterEach(async () => {
    await target?.close();
    target = undefined;
  });

  it('delivers a batch: each record on the topic with its key, payload, copied headers, wal-id and content type', async () => {
    const topic = uniqueTopic('target-kafka');
    await createTopic(admin, { topic, numPartitions: 3 });
    target = kafkaTarget(topic);

    const results = await target.deliver([delivery('r1', '{"n":1}'), delivery('r2', '{"n":2}'), delivery('r3', '{"n":3}', null)]);

    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    const records = await readRecords(topic, 3);
    const byId = new Map(records.map((r) => [text(r.headers, KAFKA_TARGET_HEADERS.id), r]));
    expect([...byId.keys()].sort()).toEqual(['r1', 'r2', 'r3']);
    const r1 = byId.get('r1')!;
    expect(r1.key?.toString()).toBe('r1');
    expect(r1.value?.toString()).toBe('{"n":1}');
    expect(text(r1.headers, 'tenant')).toBe('acme');
    expect(text(r1.headers, KAFKA_TARGET_HEADERS.contentType)).toBe('application/json');
    expect(byId.get('r3')!.key).toBeNull();
  });

  it('fails only the record that is too large, permanently, and keeps delivering', async () => {
    const topic = uniqueTopic('target-kafka-small');
    await createTopic(admin, { topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '2048' }] });
    target = kafkaTarget(topic);

    const results = await target.deliver([delivery('s1', 'small'), delivery('big', Buffer.alloc(8192, 1)), delivery('s2', 'small')]);

    expect(results[0]).toEqual({ ok: true });
    expect(results[1]).toEqual({ ok: false, retriable: false, reason: expect.stringContaining('MESSAGE_TOO_LARGE') });
    expect(results[2]).toEqual({ ok: true });
    expect(await target.deliver([delivery('s3', 'small')])).toEqual([{ ok: true }]);
    expect(await recordCount(admin, topic)).toBe(3);
  });

  it('applies mutations as one record per mutation, keyed by the mutation key, deletes as tombstones', async () => {
    const topic = uniqueTopic('target-kafka-mut');
    await createTopic(admin, { topic, numPartitions: 1 });
    target = kafkaTarget(topic);

    const result = await target.applyMutations!({
      txnId: 'txn-9',
      chunkIndex: 1,
      mutations: [
        { key: 'user:1', op: 'PUT', value: Buffer.from('Ada'), sequence: 10 },
        { key: 'user:2', op: 'DELETE', value: null, sequence: 11 },
      ],
    });

    expect(result).toEqual({ ok: true });
    const [put, del] = await readRecords(topic, 2);
    expect(put?.key?.toString()).toBe('user:1');
    expect(put?.value?.toString()).toBe('Ada');
    expect(text(put?.headers, KAFKA_TARGET_HEADERS.op)).toBe('PUT');
    expect(text(put?.headers, KAFKA_TARGET_HEADERS.sequence)).toBe('10');
    expect(text(put?.headers, KAFKA_TARGET_HEADERS.txnId)).toBe('txn-9');
    expect(text(put?.headers, KAFKA_TARGET_HEADERS.chunkIndex)).toBe('1');
    expect(del?.key?.toString()).toBe('user:2');
    expect(del?.value).toBeNull();
    expect(text(del?.headers, KAFKA_TARGET_HEADERS.op)).toBe('DELETE');
  });

  it('answers retriable when no broker is reachable', async () => {
    const port = await freePort();
    target = createTarget('down', { type: 'kafka', topic: 'any', cluster: 'gone', partitions: 1 }, {
      gone: { name: 'gone', brokers: [`127.0.0.1:${port}`], schemaRegistryUrl: 'http://127.0.0.1:1' },
    });
    const started = Date.now();

    const [result] = await target.deliver([delivery('x', 'y')]);

    expect(result).toMatchObject({ ok: false, retriable: true });
    expect(Date.now() - started).toBeLessThan(20000);
  });
});
