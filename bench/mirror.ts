/**
 * Mirror benchmark on two real clusters (not a test: numbers, no assertions).
 *
 *   KAFKA_BROKERS=hostA:port KAFKA_BROKERS_B=hostB:port \
 *     node -r ./test/support/runtime-fixtures/register-ts.js bench/mirror.ts
 *
 * Same source topic, same run: (1) a raw kafkajs loop — eachBatch on A → send to the same partition on
 * B with acks=all → commit — versus (2) the MirrorRunner at-least-once and (3) exactly-once, and
 * (4) Apache Kafka's MirrorMaker 2 (dedicated mode, tasks.max=4; MM2=0 leaves it out). Each measures
 * from start until every record is on B (acked / committed).
 * Env: RECORDS (default 50000), PARTITIONS (4), VALUE_BYTES (100).
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { ProcessingGuarantee } from '../src/namespaces/types';
import { createLogger } from '../src/observability/logger';
import { DEFAULT_COMMIT_POLICY, MIRROR_CONSUMER_DEFAULTS, MirrorRunner } from '../src/mirror';
import { metricsRegistry } from '../src/observability/metrics';
import { createTopic, mirrorConfig } from '../test/support/mirror-fixture';
import { DEFAULT_KAFKA_VERSION } from '../src/devcluster/types';
import { mm2Classpath, startMm2, stopMm2 } from './lib/mm2';

const brokersA = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const brokersB = (process.env.KAFKA_BROKERS_B ?? '127.0.0.1:9093').split(',');
const RECORDS = Number(process.env.RECORDS ?? 50_000);
const PARTITIONS = Number(process.env.PARTITIONS ?? 4);
const VALUE_BYTES = Number(process.env.VALUE_BYTES ?? 100);
const kafkaA = new Kafka({ clientId: 'wal-bench-a', brokers: brokersA, logLevel: logLevel.NOTHING });
const kafkaB = new Kafka({ clientId: 'wal-bench-b', brokers: brokersB, logLevel: logLevel.NOTHING });
const clusters = [
  { name: 'A', brokers: brokersA, registryUrl: 'http://127.0.0.1:1', source: 'env' as const, kafkaVersion: '', registryVersion: '' },
  { name: 'B', brokers: brokersB, registryUrl: 'http://127.0.0.1:1', source: 'env' as const, kafkaVersion: '', registryVersion: '' },
];
const run = `bench-mirror-${Date.now().toString(36)}`;

async function fill(topic: string): Promise<void> {
  await createTopic(kafkaA, topic, PARTITIONS);
  const producer = kafkaA.producer({ idempotent: true });
  await producer.connect();
  const value = Buffer.alloc(VALUE_BYTES, 'x');
  for (let i = 0; i < RECORDS; i += 2000) {
    const messages = [];
    for (let j = i; j < Math.min(i + 2000, RECORDS); j++) messages.push({ key: `k${j % 1000}`, value, headers: { seq: String(j) }, timestamp: String(Date.now()) });
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
}

async function endOffsetsSum(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } catch {
    // Created a moment ago (by MM2): its partitions have no leader yet. Nothing there to count.
    return 0;
  } finally {
    await admin.disconnect();
  }
}

/** The raw loop: what a user would write in twenty lines of kafkajs. */
interface Timing {
  /** From start (connect/subscribe done for the raw loop; runner.start() called for the mirror) to the last record on B. */
  readonly total: number;
  /** From the first record on B to the last: the steady copy rate. */
  readonly steady: number;
}

async function rawLoop(source: string): Promise<Timing> {
  const target = `raw.${source}`;
  await createTopic(kafkaB, target, PARTITIONS);
  // 512 KiB fetches like the mirror: with kafkajs' default 1 MiB a fetched batch re-sent as one produce
  // request exceeds the target's default max.message.bytes and the naive loop retries it forever.
  const consumer = kafkaA.consumer({ groupId: `bench-raw-${randomUUID()}`, maxWaitTimeInMs: 200, maxBytesPerPartition: 512 * 1024 });
  const producer = kafkaB.producer({ idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: source, fromBeginning: true });
  let copied = 0;
  let first = 0;
  const started = Date.now();
  await new Promise<void>((resolve) => {
    void consumer.run({
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch }) => {
        await producer.send({
          topic: target,
          acks: -1,
          messages: batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp, partition: batch.partition })),
        });
        if (copied === 0) first = Date.now();
        copied += batch.messages.length;
        if (copied >= RECORDS) resolve();
      },
    });
  });
  const timing = { total: (Date.now() - started) / 1000, steady: (Date.now() - first) / 1000 };
  await Promise.all([consumer.disconnect(), producer.disconnect()]);
  return timing;
}

/** A counter's value for one namespace on the process registry (the runners run in this process). */
async function counter(name: string, namespace: string): Promise<number> {
  const metric = (await metricsRegistry.getMetricsAsJSON()).find((m) => m.name === name);
  return ((metric?.values ?? []) as Array<{ value: number; labels: Record<string, unknown> }>).filter((v) => v.labels.namespace === namespace).reduce((n, v) => n + v.value, 0);
}

let transactions = 0;

async function mirror(source: string, guarantee: ProcessingGuarantee): Promise<Timing> {
  const ns = `${run}-${guarantee === 'exactly-once' ? 'eos' : 'alos'}`;
  const { config, namespace } = mirrorConfig(clusters, { namespace: ns, source: 'A', target: 'B', topics: [source], guarantee, checkpointIntervalMs: 5000 });
  const runner = new MirrorRunner({ config, namespace, instanceId: 'bench', logger: createLogger({ bench: 'mirror' }, { level: 'warn' }) });
  const started = Date.now();
  let first = 0;
  await runner.start();
  for (;;) {
    const status = await runner.status();
    const mirrored = status.mirror.links[0].partitions.reduce((n, p) => n + p.mirrored, 0);
    if (mirrored > 0 && first === 0) first = Date.now();
    if (mirrored >= RECORDS) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const timing = { total: (Date.now() - started) / 1000, steady: (Date.now() - first) / 1000 };
  await runner.stop();
  if (guarantee === 'exactly-once') transactions = await counter('wal_mirror_transactions_total', ns);
  const onTarget = await endOffsetsSum(kafkaB, `A.${source}`);
  if (onTarget < RECORDS) throw new Error(`mirror reported ${RECORDS} records but the target holds ${onTarget}`);
  return timing;
}

/** MirrorMaker 2 on the same records: from the JVM's start until every record is on B. */
async function mirrorMaker2(source: string): Promise<Timing> {
  const classpath = await mm2Classpath(process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION, (line) => process.stdout.write(`${line}\n`));
  const target = `A-${source}`;
  process.stdout.write('starting MirrorMaker 2\n');
  const started = Date.now();
  const mm2 = startMm2({ classpath, brokersA, brokersB, topic: source, tasks: 4, separator: '-', run });
  let first = 0;
  try {
    const deadline = started + 600_000;
    for (;;) {
      const onTarget = await endOffsetsSum(kafkaB, target);
      if (onTarget > 0 && first === 0) first = Date.now();
      if (onTarget >= RECORDS) break;
      if (mm2.process.hasExited()) throw new Error(`MirrorMaker 2 exited:\n${mm2.log()}`);
      if (Date.now() > deadline) throw new Error(`MirrorMaker 2 copied ${onTarget} of ${RECORDS} records within 600 s:\n${mm2.log()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { total: (Date.now() - started) / 1000, steady: (Date.now() - first) / 1000 };
  } finally {
    await stopMm2(mm2);
  }
}

async function main(): Promise<void> {
  const source = `${run}.src`;
  process.stdout.write(`filling ${source} on A with ${RECORDS} records (${VALUE_BYTES} B values, ${PARTITIONS} partitions)\n`);
  await fill(source);
  const rows: [string, Timing][] = [];
  rows.push(['raw kafkajs consume(A)→produce(B)', await rawLoop(source)]);
  rows.push(['MirrorRunner at-least-once', await mirror(source, 'at-least-once')]);
  rows.push(['MirrorRunner exactly-once', await mirror(source, 'exactly-once')]);
  if (process.env.MM2 !== '0') rows.push(['MirrorMaker 2 (dedicated, tasks.max=4)', await mirrorMaker2(source)]);
  // The settings that shape the figures, and how many records each exactly-once transaction held.
  const { lingerMs, maxRecords } = DEFAULT_COMMIT_POLICY;
  process.stdout.write(`${JSON.stringify({ settings: { records: RECORDS, partitions: PARTITIONS, valueBytes: VALUE_BYTES, ...MIRROR_CONSUMER_DEFAULTS, transactionLingerMs: lingerMs, transactionMaxRecords: maxRecords } })}\n`);
  if (transactions > 0) {
    process.stdout.write(`${JSON.stringify({ figures: { 'eos-records-per-transaction': { label: 'exactly-once records per transaction', unit: 'records', value: Math.round(RECORDS / transactions) } } })}\n`);
  }
  // One line per loop, `<label>: <n> records/s (...)`, the form bench/lib/external.ts reads.
  for (const [name, t] of rows) {
    const steady = Math.round(RECORDS / t.steady).toLocaleString('en-US');
    process.stdout.write(`${name}: ${steady} records/s (steady: from the first record on B; ${t.steady.toFixed(2)} s, ${t.total.toFixed(1)} s with group join)\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
