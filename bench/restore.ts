/**
 * Changelog restore speed on a real broker, with its two ceilings measured in the same run (numbers,
 * no assertions):
 *
 *   KAFKA_BROKERS=host:port node -r ./test/support/runtime-fixtures/register-ts.js bench/restore.ts
 *
 * 1. restore: RESTORE_RECORDS records of one changelog partition replayed into an empty LevelDB store
 *    by `RecoveryPartition`, from the call to the store being consistent (first, in a fresh process,
 *    as at a start: JIT warm-up included), with its CPU time; then once more into another store, warm.
 * 2. read ceiling (warm): a plain kafkajs consumer (new group, the reader's fetch settings) reading the same
 *    partition and discarding the records.
 * 3. write ceiling (warm): the same keys and values written to an empty classic-level store in chained
 *    batches of the size the restore wrote, no Kafka at all.
 * 4. several partitions: the same number of records over PARTITIONS partitions, restored one after
 *    the other, then at once within RESTORE_CONCURRENCY slots (as a runner restores its tasks).
 * Env: RESTORE_RECORDS (100000), VALUE_BYTES (100), PARTITIONS (4), RESTORE_FETCH_BYTES (the reader's
 * default), RESTORE_CONCURRENCY (the runner's default). Prints a JSON line of these settings.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Semaphore } from 'async-mutex';
import { ClassicLevel } from 'classic-level';
import { DEFAULT_RESTORE_CONCURRENCY } from '../src/engine';
import { createLogger } from '../src/observability/logger';
import { LevelStore, RecoveryPartition, RESTORE_FETCH_BYTES } from '../src/state';
import { benchKafka, createTopics, deleteTopics, fillTopic, runId } from './lib/kafka';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const RECORDS = Number(process.env.RESTORE_RECORDS ?? 100_000);
const VALUE_BYTES = Number(process.env.VALUE_BYTES ?? 100);
const PARTITIONS = Number(process.env.PARTITIONS ?? 4);
const FETCH_BYTES = Number(process.env.RESTORE_FETCH_BYTES ?? RESTORE_FETCH_BYTES);
const CONCURRENCY = Number(process.env.RESTORE_CONCURRENCY ?? DEFAULT_RESTORE_CONCURRENCY);
const kafka = benchKafka(brokers, 'wal-bench-restore');
const logger = createLogger({ bench: 'restore' }, { level: 'warn' });
const run = runId('bench-restore');
const keyOf = (i: number): string => `key-${i}`;

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** CPU time (user + system, all threads: LevelDB writes on the pool too) since `since`, in ms. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

function rate(records: number, ms: number): string {
  return `${records} records in ${(ms / 1000).toFixed(2)} s = ${Math.round(records / (ms / 1000))} records/s`;
}

/** Restores partition `partition` of `topic` into an empty store under `dir`; answers the LevelDB batches written. */
async function restore(dir: string, topic: string, partition: number): Promise<{ restored: number; writes: number }> {
  const empty = await LevelStore.open('bench', path.join(dir, `${topic}-${partition}`));
  const recovery = new RecoveryPartition({ kafka, namespace: run, topic, partition, checkpointed: null, logger, fetchBytes: FETCH_BYTES });
  const { store, result } = await recovery.recover(empty);
  await store.close();
  return result;
}

/** A plain kafkajs consumer with the reader's fetch settings (src/kafka/partition-reader.ts), records discarded. */
async function readCeiling(topic: string, count: number): Promise<number> {
  const started = Date.now();
  const consumer = kafka.consumer({ groupId: `${run}.read`, maxBytesPerPartition: FETCH_BYTES, maxBytes: 64 * 1024 * 1024, maxWaitTimeInMs: 250, readUncommitted: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length;
          if (seen >= count) resolve();
        },
      });
    });
    return Date.now() - started;
  } finally {
    await consumer.disconnect();
  }
}

/** The same records into an empty classic-level store, `batch` a chained batch, nothing else. */
async function writeCeiling(dir: string, count: number, batch: number): Promise<number> {
  const db = new ClassicLevel<Buffer, Buffer>(path.join(dir, 'write-ceiling'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const value = Buffer.alloc(VALUE_BYTES, 'x');
  const keys = Array.from({ length: count }, (_, i) => Buffer.from(keyOf(i)));
  const started = Date.now();
  for (let i = 0; i < count; i += batch) {
    const chained = db.batch();
    for (let j = i; j < Math.min(i + batch, count); j++) chained.put(keys[j], value);
    await chained.write();
  }
  const ms = Date.now() - started;
  await db.close();
  return ms;
}

async function main(): Promise<void> {
  print(`wal restore bench on ${brokers.join(',')} (${os.cpus().length} cores), run ${run}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const single = `${run}.changelog`;
  const spread = `${run}.changelog-${PARTITIONS}`;
  const compacted = { 'cleanup.policy': 'compact' };
  await createTopics(kafka, [
    { topic: single, partitions: 1, config: compacted },
    { topic: spread, partitions: PARTITIONS, config: compacted },
  ]);
  await fillTopic(kafka, single, RECORDS, { keyOf, valueBytes: VALUE_BYTES, partition: 0 });
  await fillTopic(kafka, spread, RECORDS, { keyOf, valueBytes: VALUE_BYTES });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wal-bench-restore-'));
  try {
    let started = Date.now();
    const cpu = process.cpuUsage();
    const { restored, writes } = await restore(dir, single, 0);
    print(`restore: ${rate(restored, Date.now() - started)} (${VALUE_BYTES} B values, ${writes} LevelDB batches)`);
    const restoreCpu = cpuMs(cpu);
    started = Date.now();
    await restore(path.join(dir, 'again'), single, 0);
    print(`restore again, warm: ${rate(RECORDS, Date.now() - started)}`);
    const batch = Math.ceil(restored / Math.max(1, writes));
    print(`read ceiling, a kafkajs consumer discarding the records: ${rate(RECORDS, await readCeiling(single, RECORDS))}`);
    print(`write ceiling, classic-level chained batches of the restore's size: ${rate(RECORDS, await writeCeiling(dir, RECORDS, batch))}`);

    const partitions = Array.from({ length: PARTITIONS }, (_, p) => p);
    started = Date.now();
    for (const p of partitions) await restore(path.join(dir, 'one-by-one'), spread, p);
    print(`restore of ${PARTITIONS} partitions one by one: ${rate(RECORDS, Date.now() - started)}`);
    const slots = new Semaphore(CONCURRENCY);
    started = Date.now();
    await Promise.all(partitions.map((p) => slots.runExclusive(() => restore(path.join(dir, 'at-once'), spread, p))));
    print(`restore of ${PARTITIONS} partitions at once: ${rate(RECORDS, Date.now() - started)}`);
    // CPU time moves less than wall time on a shared machine: it says what a restore costs, not how long it waited.
    print(JSON.stringify({ figures: { 'restore-cpu': { label: 'restore CPU time (all threads) per 100k records', unit: 'ms', value: Math.round((restoreCpu * 100_000) / RECORDS) } } }));
    print(JSON.stringify({ settings: { fetchBytes: FETCH_BYTES, recordsPerWrite: batch, restoreConcurrency: CONCURRENCY, partitions: PARTITIONS, records: RECORDS, valueBytes: VALUE_BYTES } }));
  } finally {
    await rm(dir, { recursive: true, force: true });
    await deleteTopics(kafka, (t) => t.startsWith(run));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
