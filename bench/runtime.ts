/**
 * Engine benchmark on a real broker (not a test: numbers, no assertions).
 *
 *   KAFKA_BROKERS=host:port node -r ./test/support/runtime-fixtures/register-ts.js bench/runtime.ts
 *
 * Steady-state throughput, same broker, same run, same input: a raw kafkajs consume→produce loop
 * (eachBatch → sendBatch acks=all → commit) versus the engine running the passthrough topology.
 * (Restore speed is bench/restore.ts.)
 * Env: PASS_RECORDS (200000), VALUE_BYTES (100), PARTITIONS (4),
 * BENCH_ONLY (run only the loops whose name contains it, e.g. "raw" or "at-least-once"),
 * CONCURRENCY (engine partitionsConsumedConcurrently, default the namespace default; the raw loop uses that default too).
 */
import os from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { DEFAULT_PARTITION_CONCURRENCY } from '../src/namespaces/types';
import { createLogger } from '../src/observability/logger';
import { createTopics, fillTopic } from './lib/kafka';
import { startEnginePassthrough } from './lib/passthrough';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const PASS_RECORDS = Number(process.env.PASS_RECORDS ?? 200_000);
const VALUE_BYTES = Number(process.env.VALUE_BYTES ?? 100);
const PARTITIONS = Number(process.env.PARTITIONS ?? 4);
const kafka = new Kafka({ clientId: 'wal-bench', brokers, logLevel: logLevel.NOTHING });
const logger = createLogger({ bench: 'runtime' }, { level: 'warn' });
const run = `bench-${Date.now().toString(36)}`;

async function totalEnd(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return offsets.reduce((n, o) => n + Number(o.high), 0);
}

/** Resolves with the time the output first held ≥ 10% and ≥ 100% of the records (steady state = between). */
async function waitForEnd(topic: string, count: number, timeoutMs = 300_000): Promise<Window> {
  const deadline = Date.now() + timeoutMs;
  let tenth: number | undefined;
  for (;;) {
    const n = await totalEnd(topic);
    if (tenth === undefined && n >= count / 10) tenth = Date.now();
    if (n >= count) return { tenth: tenth!, done: Date.now() };
    if (Date.now() > deadline) throw new Error(`${topic} did not reach ${count} records in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Window {
  readonly tenth: number;
  readonly done: number;
}

interface Timing {
  /** From start (join, task open) to the last record out. */
  readonly total: number;
  /** Records/s between 10% and 100% of the output. */
  readonly steady: number;
}

/** Steady windows under this are mostly polling granularity (50 ms polls, an admin call each). */
const MIN_WINDOW_MS = 1000;

function timing(started: number, w: Window): Timing {
  const total = (w.done - started) / 1000;
  // A run too fast to window (the output went from < 10% to all in a few polls) is rated over its
  // whole span from start, which errs low, instead of a division by almost nothing.
  const steady = w.done - w.tenth >= MIN_WINDOW_MS ? (PASS_RECORDS * 0.9) / ((w.done - w.tenth) / 1000) : PASS_RECORDS / total;
  return { total, steady };
}

/** The baseline: what kafkajs alone does for consume → produce → commit, with the same settings. */
async function rawLoop(input: string, output: string): Promise<Timing> {
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `${run}.raw`, maxWaitTimeInMs: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic: input, fromBeginning: true });
  const started = Date.now();
  let lastCommit = started;
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    // The same partition concurrency as the engine's default, so the ratio compares like with like.
    partitionsConsumedConcurrently: DEFAULT_PARTITION_CONCURRENCY,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, uncommittedOffsets }) => {
      const messages = batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp }));
      for (let i = 0; i < messages.length; i += 5000) await producer.sendBatch({ acks: -1, topicMessages: [{ topic: output, messages: messages.slice(i, i + 5000) }] });
      const last = batch.lastOffset();
      resolveOffset(last);
      // Commit at most once a second, like the engine's commit interval in this bench.
      if (Date.now() - lastCommit >= 1000) {
        lastCommit = Date.now();
        await commitOffsetsIfNecessary(uncommittedOffsets());
      }
    },
  });
  const result = timing(started, await waitForEnd(output, PASS_RECORDS));
  await consumer.disconnect();
  await producer.disconnect();
  return result;
}

async function engineLoop(input: string, output: string, guarantee: 'at-least-once' | 'exactly-once'): Promise<Timing> {
  const started = Date.now();
  const engine = await startEnginePassthrough(kafka, {
    name: `${run}-${guarantee}`,
    input,
    output,
    partitions: PARTITIONS,
    guarantee,
    commitIntervalMs: 1000,
    logger,
    tuning: process.env.CONCURRENCY ? { partitionsConsumedConcurrently: Number(process.env.CONCURRENCY) } : undefined,
  });
  const result = timing(started, await waitForEnd(output, PASS_RECORDS));
  await engine.stop();
  return result;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  print(`wal engine bench on ${brokers.join(',')} (${os.cpus().length} cores), run ${run}`);
  const input = `${run}.in`;
  await createTopics(kafka, [{ topic: input, partitions: PARTITIONS }]);
  await fillTopic(kafka, input, PASS_RECORDS, { keyOf: (i) => `k${i % 10_000}`, valueBytes: VALUE_BYTES });
  for (const [name, loop] of [
    ['raw kafkajs consume→produce', (o: string) => rawLoop(input, o)],
    ['engine passthrough (at-least-once)', (o: string) => engineLoop(input, o, 'at-least-once')],
    ['engine passthrough (exactly-once)', (o: string) => engineLoop(input, o, 'exactly-once')],
  ] as const) {
    if (process.env.BENCH_ONLY && !name.includes(process.env.BENCH_ONLY)) continue;
    const output = `${run}.out-${name.replace(/[^a-z]+/g, '-')}`;
    await createTopics(kafka, [{ topic: output, partitions: PARTITIONS }]);
    const t = await loop(output);
    print(
      `${name}: ${PASS_RECORDS} records (${VALUE_BYTES} B values, ${PARTITIONS} partitions) in ${t.total.toFixed(2)} s from start; ` +
        `steady state ${Math.round(t.steady)} records/s`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
