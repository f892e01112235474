import { randomUUID } from 'node:crypto';
import { Kafka, KafkaMessage } from 'kafkajs';

export async function createTopics(kafka: Kafka, topics: { topic: string; partitions: number }[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions })) });
  } finally {
    await admin.disconnect();
  }
}

/** Produces `count` records over `keys` keys ("k0".."k{keys-1}", round-robin); returns expected counts per key. */
export async function produceKeyed(kafka: Kafka, topic: string, count: number, keys: number, start = 0): Promise<Map<string, number>> {
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const expected = new Map<string, number>();
  try {
    for (let i = start; i < start + count; i += 500) {
      const messages = [];
      for (let j = i; j < Math.min(i + 500, start + count); j++) {
        const key = `k${j % keys}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
        messages.push({ key, value: `v${j}` });
      }
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
  return expected;
}

export function addCounts(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map(a);
  for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) + v);
  return out;
}

/**
 * Consumes `topic` from the start (read_committed) with a throw-away group, until `done(records)`
 * holds; rejects after `timeoutMs` showing how far it got.
 */
export async function consumeUntil(
  kafka: Kafka,
  topic: string,
  done: (records: KafkaMessage[]) => boolean,
  timeoutMs: number,
  describe: (records: KafkaMessage[]) => string = (r) => `${r.length} records`,
): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 200 });
  const records: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<KafkaMessage[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: condition not met within ${timeoutMs} ms; got ${describe(records)}`)), timeoutMs);
      const check = () => {
        if (done(records)) {
          clearTimeout(timer);
          resolve(records);
        }
      };
      void consumer.run({
        eachBatch: async ({ batch }) => {
          records.push(...batch.messages);
          check();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

/** Latest value per key (as string). */
export function latestByKey(records: KafkaMessage[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of records) if (r.key) out.set(r.key.toString(), r.value?.toString() ?? '');
  return out;
}

export function countsReached(expected: Map<string, number>, exact: boolean) {
  return (records: KafkaMessage[]): boolean => {
    const latest = latestByKey(records);
    for (const [k, n] of expected) {
      const got = Number(latest.get(k) ?? 0);
      if (exact ? got !== n : got < n) return false;
    }
    return true;
  };
}

export function describeCounts(expected: Map<string, number>) {
  return (records: KafkaMessage[]): string => {
    const latest = latestByKey(records);
    return [...expected].slice(0, 8).map(([k, n]) => `${k}=${latest.get(k) ?? 0}/${n}`).join(' ') + ` (${records.length} records)`;
  };
}
