import { Kafka, KafkaMessage, logLevel } from 'kafkajs';
import { kafkaSecurity } from '../../src/kafka';
import { waitForLeaders } from '../../src/kafka/apply';
import { DEFAULT_PARTITION_CONCURRENCY, type ClusterConfig } from '../../src/namespaces/types';

/** Bench-side kafkajs helpers: topics, bulk fill, end offsets, and collecting what a topic receives. */

/** A quiet client; `security` (a configured cluster's ssl/sasl) when the bench runs against a secured cluster. */
export function benchKafka(brokers: string[], clientId: string, security: Pick<ClusterConfig, 'ssl' | 'sasl'> = {}): Kafka {
  return new Kafka({ brokers, clientId, logLevel: logLevel.NOTHING, ...kafkaSecurity(security) });
}

export function runId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

export async function createTopics(kafka: Kafka, topics: Array<{ topic: string; partitions: number; config?: Record<string, string> }>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Without kafkajs' own leader wait, which fails on a KRaft cluster started a moment ago ("does not
    // host this topic-partition"): the runtime bench, first in a full run, died on it.
    await admin.createTopics({
      waitForLeaders: false,
      topics: topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions, configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })) })),
    });
    await waitForLeaders(admin, topics.map((t) => t.topic), 60_000);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Writes `count` records of `valueBytes` (idempotent, acks=all, 2000 a send, 8 sends in flight), to
 * `partition` or spread by key.
 */
export async function fillTopic(kafka: Kafka, topic: string, count: number, options: { keyOf: (i: number) => string; valueBytes: number; partition?: number }): Promise<void> {
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    const value = Buffer.alloc(options.valueBytes, 'x');
    const partition = options.partition !== undefined ? { partition: options.partition } : {};
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < count; i += 2000) {
      const messages = [];
      for (let j = i; j < Math.min(i + 2000, count); j++) messages.push({ key: options.keyOf(j), value, ...partition });
      inFlight.push(producer.send({ topic, acks: -1, messages }));
      if (inFlight.length >= 8) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
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

/** A count observed at a time (ms). */
export interface Sample {
  readonly t: number;
  readonly n: number;
}

/** What `waitForCount` saw: every poll's count, the last one at or over the target. */
export interface Window {
  readonly samples: Sample[];
  readonly done: number;
}

/**
 * Polls `count()` until it reaches `target`, keeping every sample so that a rate can leave out the
 * start-up (group join, task open). Rejects after `timeoutMs`, naming the count reached.
 */
export async function waitForCount(what: string, count: () => Promise<number>, target: number, timeoutMs: number, pollMs = 50, progress?: (line: string) => void): Promise<Window> {
  const deadline = Date.now() + timeoutMs;
  const samples: Sample[] = [];
  let reported = Date.now();
  for (;;) {
    const n = await count();
    samples.push({ t: Date.now(), n });
    if (n >= target) return { samples, done: Date.now() };
    // A long wait (10 M timers take minutes) says how far it got every 30 s.
    if (progress && Date.now() - reported >= 30_000) {
      reported = Date.now();
      progress(`  ${what}: ${n.toLocaleString('en-US')} of ${target.toLocaleString('en-US')}`);
    }
    if (Date.now() > deadline) throw new Error(`${what}: ${n} of ${target} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * Records/s in the steady state: from the first sample holding ≥ 10% of the records to the end,
 * using the counts actually seen. When that span is too short to measure (a fast loop on a small
 * run), from the last sample that still held nothing, which includes some start-up and so errs low.
 */
export function steadyRate(w: Window): number {
  const last = w.samples[w.samples.length - 1];
  const first = w.samples.find((s) => s.n >= last.n / 10)!;
  if (last.t - first.t >= 500 && last.n > first.n) return ((last.n - first.n) / (last.t - first.t)) * 1000;
  const empty = [...w.samples].reverse().find((s) => s.n === 0) ?? w.samples[0];
  return (last.n - empty.n) / (Math.max(1, last.t - empty.t) / 1000);
}

/**
 * End offsets of a topic over one admin connection (polling it should not cost a connect each time).
 * A retriable error (a topic created a moment ago: "not the leader") is retried a few times.
 */
export async function endCounter(kafka: Kafka, topic: string): Promise<{ count(): Promise<number>; close(): Promise<void> }> {
  const admin = kafka.admin();
  await admin.connect();
  const count = async (attempt = 0): Promise<number> => {
    try {
      return (await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0);
    } catch (error) {
      if (attempt >= 10 || (error as { retriable?: boolean }).retriable !== true) throw error;
      await new Promise((r) => setTimeout(r, 200));
      return count(attempt + 1);
    }
  };
  return { count: () => count(), close: () => admin.disconnect() };
}

/** Generous bound for draining `records` (a stuck pipeline fails the run instead of hanging it). */
export function drainTimeoutMs(records: number): number {
  return 60_000 + records * 2;
}

/** A loop under measurement: `check` throws when it died (its output would never come). */
export interface DrainLoop {
  stop(): Promise<void>;
  check?(): void;
}

/**
 * Starts a loop over records already waiting, waits until `records` of them are on `output` and
 * stops it: the steady rate (steadyRate).
 */
export async function drainRate(kafka: Kafka, what: string, output: string, records: number, start: () => Promise<DrainLoop>): Promise<number> {
  const counter = await endCounter(kafka, output);
  try {
    const loop = await start();
    try {
      const count = (): Promise<number> => {
        loop.check?.();
        return counter.count();
      };
      return steadyRate(await waitForCount(what, count, records, drainTimeoutMs(records)));
    } finally {
      await loop.stop();
    }
  } finally {
    await counter.close();
  }
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
    // The same partition concurrency as the engine's default, so the ratio compares like with like.
    partitionsConsumedConcurrently: DEFAULT_PARTITION_CONCURRENCY,
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
