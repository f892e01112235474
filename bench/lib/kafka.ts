import { Kafka, KafkaMessage, logLevel } from 'kafkajs';

/** Bench-side kafkajs helpers: topics, bulk fill, end offsets, and collecting what a topic receives. */

export function benchKafka(brokers: string[], clientId: string): Kafka {
  return new Kafka({ brokers, clientId, logLevel: logLevel.NOTHING });
}

export function runId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

export async function createTopics(kafka: Kafka, topics: Array<{ topic: string; partitions: number }>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions })) });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes a run's topics so that repeated benches do not fill the broker's disk; best effort. */
export async function deleteTopics(kafka: Kafka, matching: (topic: string) => boolean): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter(matching);
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  } catch {
    /* cleanup only */
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Sum of a topic's end offsets (= records written, for a non-compacted topic written without transactions). */
export async function totalEnd(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}

export interface Window {
  /** When a tenth of the records was there (the start of the steady state). */
  readonly tenth: number;
  readonly done: number;
}

/**
 * Polls `count()` until it reaches `target`; returns when it first held ≥ 10% and 100%, so that a
 * rate can leave out start-up (group join, task open). Rejects after `timeoutMs`, naming the count.
 */
export async function waitForCount(what: string, count: () => Promise<number>, target: number, timeoutMs: number, pollMs = 100): Promise<Window> {
  const deadline = Date.now() + timeoutMs;
  let tenth: number | undefined;
  let last = 0;
  for (;;) {
    last = await count();
    if (tenth === undefined && last >= target / 10) tenth = Date.now();
    if (last >= target) return { tenth: tenth!, done: Date.now() };
    if (Date.now() > deadline) throw new Error(`${what}: ${last} of ${target} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Records/s between 10% and 100% of `total` (the steady state). */
export function steadyRate(total: number, w: Window): number {
  return (total * 0.9) / (Math.max(1, w.done - w.tenth) / 1000);
}

export interface Collected {
  readonly messages: Array<KafkaMessage & { partition: number }>;
  stop(): Promise<void>;
  waitFor(count: number, timeoutMs: number): Promise<void>;
}

/** Everything that arrives on a topic, from the beginning. */
export async function collect(kafka: Kafka, topic: string, options: { keepValues?: boolean } = {}): Promise<Collected> {
  const consumer = kafka.consumer({ groupId: runId('bench-collector'), maxWaitTimeInMs: 100, sessionTimeout: 30_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: Array<KafkaMessage & { partition: number }> = [];
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) messages.push({ ...m, value: options.keepValues === false ? null : m.value, partition: batch.partition });
    },
  });
  return {
    messages,
    stop: () => consumer.disconnect(),
    waitFor: async (count, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} records on ${topic} within ${timeoutMs} ms, got ${messages.length}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

export function header(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? String(value[value.length - 1]) : String(value);
}

/**
 * The baseline every wal figure is compared with: kafkajs alone consuming `input` and producing the
 * same bytes to `output` (idempotent, acks=all, offsets committed once a second), nothing else.
 */
export async function startRawLoop(kafka: Kafka, input: string, output: string, groupId: string): Promise<{ stop(): Promise<void> }> {
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: input, fromBeginning: true });
  let lastCommit = Date.now();
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, uncommittedOffsets }) => {
      const messages = batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers }));
      for (let i = 0; i < messages.length; i += 5000) await producer.sendBatch({ acks: -1, topicMessages: [{ topic: output, messages: messages.slice(i, i + 5000) }] });
      resolveOffset(batch.lastOffset());
      if (Date.now() - lastCommit >= 1000) {
        lastCommit = Date.now();
        await commitOffsetsIfNecessary(uncommittedOffsets());
      }
    },
  });
  return {
    stop: async () => {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
