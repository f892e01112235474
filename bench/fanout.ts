/**
 * Fan-out benchmark (not a test: numbers, no assertions): mutations per second applied to
 * PostgreSQL through wal (writer → intake → fanout → per-target topic → applier → upsert) versus a
 * plain loop of batched upserts into the same database, same run, same rows.
 *
 *   KAFKA_BROKERS=host:port SCHEMA_REGISTRY_URL=http://host:port/apis/ccompat/v7 \
 *     node -r ./test/support/runtime-fixtures/register-ts.js bench/fanout.ts
 *
 * PostgreSQL: PG_URL, or a private server from Debian's packages (test/support/postgres.ts).
 * Env: MUTATIONS (default 100000), REQUEST_MUTATIONS per request (5000), CHUNK_SIZE (100),
 * PARTITIONS (3), TABLES (1: mutations spread over this many tables), VALUE_BYTES (100),
 * CONCURRENCY (partitions the engine's consumer processes at once, kafkajs partitionsConsumedConcurrently; default the namespace default),
 * FETCH_BYTES (the engine consumer's maxBytesPerPartition, default 1 MiB as the runner's).
 * Prints the CPU time of the process (writer + engine, all threads) per mutation over the timed part, a
 * figure that moves less with the load of a shared machine than the rates, and a JSON line of the settings.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createWalWriter, type MutationInput } from '../src/api';
import { parseConfig } from '../src/namespaces';
import { DEFAULT_PARTITION_CONCURRENCY } from '../src/namespaces/types';
import { applyTopics } from '../src/kafka';
import { planTopics } from '../src/namespaces/topic-plan';
import { DEFAULT_APPLY_BATCH_CHUNKS, DEFAULT_MAX_MUTATIONS_PER_APPLY, keyPartition, mutationTopology, readTxnStatus } from '../src/mutations';
import { NamespaceRunner } from '../src/engine';
import { startPostgres } from '../test/support/postgres';
import { benchKafka } from './lib/kafka';
import { engineOptionsOf } from '../src/personas';
import { encodePayload } from '../src/api/request';
import type { PayloadInput } from '../src/api/types';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const registry = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const MUTATIONS = Number(process.env.MUTATIONS ?? 100_000);
const REQUEST_MUTATIONS = Number(process.env.REQUEST_MUTATIONS ?? 5000);
const CHUNK_SIZE = Number(process.env.CHUNK_SIZE ?? 100);
const PARTITIONS = Number(process.env.PARTITIONS ?? 3);
const TABLES = Number(process.env.TABLES ?? 1);
const VALUE_BYTES = Number(process.env.VALUE_BYTES ?? 100);
const CONCURRENCY = process.env.CONCURRENCY ? Number(process.env.CONCURRENCY) : DEFAULT_PARTITION_CONCURRENCY;
const FETCH_BYTES = Number(process.env.FETCH_BYTES ?? 1024 * 1024);
const MAX_WAIT_MS = 100;
const run = `benchfan${Date.now().toString(36)}`;

function report(line: string): void {
  process.stdout.write(`${line}\n`);
}

function rate(count: number, ms: number): string {
  return `${Math.round((count / ms) * 1000).toLocaleString('en-US')} mutations/s (${count} in ${(ms / 1000).toFixed(2)} s)`;
}

async function count(sql: Client, tables: string[]): Promise<number> {
  let total = 0;
  for (const t of tables) {
    const { rows } = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`).catch(() => ({ rows: [{ n: '0' }] }));
    total += Number(rows[0].n);
  }
  return total;
}

/** Polls until the tables hold `rows`; a lost row (a chunk dead-lettered) fails the run instead of hanging it. */
async function waitForRows(sql: Client, tables: string[], rows: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let n = await count(sql, tables); n < rows; n = await count(sql, tables)) {
    if (Date.now() > deadline) throw new Error(`${what}: ${n} of ${rows} rows in PostgreSQL after ${timeoutMs / 1000} s (a chunk in the DLQ?)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Through wal: from the first write until every row is in (keys are distinct, so rows = mutations).
 * Output lines keep stable labels before the colon: bench/index.ts parses `<label>: <n> mutations/s`.
 */
async function throughWal(pgUrl: string, sql: Client, mutations: MutationInput[]): Promise<number> {
  const targets = Array.from({ length: TABLES }, (_, i) => `t${i}`);
  const yaml = `
clusters:
  primary: { brokers: "${brokers.join(',')}", schemaRegistryUrl: "${registry}" }
namespaces:
  - name: ${run}
    partitions: ${PARTITIONS}
    maxPayloadBytes: 4MiB
    chunking: { chunkSize: ${CHUNK_SIZE} }
    targets:
${targets.map((t) => `      ${t}: { type: postgres, connectionString: "${pgUrl}", table: ${run}_wal_${t} }`).join('\n')}
`;
  const config = parseConfig(yaml, `${run}.yaml`);
  const namespace = config.namespaces[0];
  const kafka = benchKafka(brokers, run, config.clusters.primary);
  const admin = kafka.admin();
  await admin.connect();
  await applyTopics(admin, planTopics(namespace));
  await admin.disconnect();
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'wal-bench-fanout-'));
  const runner = new NamespaceRunner({ kafka, engine: engineOptionsOf(namespace), topology: mutationTopology(namespace, { clusters: config.clusters }), stateDir, instanceId: 'bench', tuning: { maxWaitTimeMs: MAX_WAIT_MS, maxBytesPerPartition: FETCH_BYTES, partitionsConsumedConcurrently: CONCURRENCY } });
  const writer = createWalWriter({ config, timeoutMs: 60_000 });
  try {
    await runner.start();
    await writer.connect();
    // Warm-up: one small request with a key on every partition, so that table creation, schema
    // registration, each task's target connections and the group join are not timed (the plain loop's
    // table and connection exist before its clock starts too).
    const warmKeys = keysOnEveryPartition(PARTITIONS);
    const warm = await writer.writeToLog({ namespace: run, id: `${run}-warm`, mutations: targets.flatMap((t) => warmKeys.map((key) => ({ target: t, key, op: 'PUT' as const, value: 'x', sequence: 0 }))) });
    if (warm.durable !== 'true') throw new Error(`warm-up write failed: ${warm.message}`);
    const tables = targets.map((t) => `${run}_wal_${t}`);
    const warmRows = targets.length * warmKeys.length;
    await waitForRows(sql, tables, warmRows, 60_000, 'the warm-up');

    const started = Date.now();
    const cpuAtStart = process.cpuUsage();
    const requests = [];
    for (let i = 0; i < mutations.length; i += REQUEST_MUTATIONS) {
      requests.push({ namespace: run, id: `${run}-${i / REQUEST_MUTATIONS}`, mutations: mutations.slice(i, i + REQUEST_MUTATIONS).map((m) => ({ ...m, target: targets[Number(m.key.slice(1)) % TABLES] })) });
    }
    const results = await writer.writeBatch(requests);
    const bad = results.find((r) => r.durable !== 'true');
    if (bad) throw new Error(`write failed: ${bad.message}`);
    const written = Date.now();
    const expected = mutations.length + warmRows;
    await waitForRows(sql, tables, expected, 600_000, 'the timed writes');
    const elapsed = Date.now() - started;
    const cpu = process.cpuUsage(cpuAtStart);
    report(JSON.stringify({ figures: { 'wal-cpu': { label: 'CPU per mutation in the wal process (writer + engine, all threads)', unit: 'µs', value: Number(((cpu.user + cpu.system) / mutations.length).toFixed(1)) } } }));
    report(`  all requests acked by the broker ${((written - started) / 1000).toFixed(2)} s after the first write`);
    report(`  applied after the writes were acked: ${rate(mutations.length, Date.now() - written)}`);
    const last = await readTxnStatus(kafka, namespace, requests[requests.length - 1].id);
    report(`  last txn: ${last?.status ?? 'unknown'}, ${last?.chunkCount ?? '?'} chunks`);
    return elapsed;
  } finally {
    await runner.stop();
    await writer.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** One warm-up key per partition (the mutations' keys are k0…kN, so these never collide with them). */
function keysOnEveryPartition(partitions: number): string[] {
  const keys = new Map<number, string>();
  for (let i = 0; keys.size < partitions; i += 1) {
    const key = `warm-${i}`;
    const p = keyPartition(key, partitions);
    if (!keys.has(p)) keys.set(p, key);
  }
  return [...keys.values()];
}

/** The same rows with a plain loop: one connection, batches of CHUNK_SIZE, the applier's own statement shape. */
async function plainLoop(sql: Client, mutations: MutationInput[]): Promise<number> {
  const table = `${run}_plain`;
  await sql.query(`CREATE TABLE ${table} (key text PRIMARY KEY, value bytea, sequence bigint NOT NULL, wal_deleted boolean NOT NULL DEFAULT false)`);
  const started = Date.now();
  for (let i = 0; i < mutations.length; i += CHUNK_SIZE) {
    const batch = mutations.slice(i, i + CHUNK_SIZE);
    await sql.query(
      `INSERT INTO ${table} AS t (key, value, sequence, wal_deleted)
       SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::boolean[])
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, sequence = EXCLUDED.sequence, wal_deleted = EXCLUDED.wal_deleted
       WHERE t.sequence < EXCLUDED.sequence`,
      [batch.map((m) => m.key), batch.map((m) => mutationBytes(m.value)), batch.map((m) => String(m.sequence)), batch.map(() => false)],
    );
  }
  return Date.now() - started;
}

async function main(): Promise<void> {
  const server = process.env.PG_URL ? undefined : await startPostgres();
  const pgUrl = process.env.PG_URL ?? server!.url;
  const sql = new Client({ connectionString: pgUrl });
  await sql.connect();
  const value = 'v'.repeat(VALUE_BYTES);
  const mutations: MutationInput[] = Array.from({ length: MUTATIONS }, (_, i) => ({ target: 't0', key: `k${i}`, op: 'PUT', value, sequence: i + 1 }));
  const settings = {
    mutations: MUTATIONS,
    requestMutations: REQUEST_MUTATIONS,
    chunkSize: CHUNK_SIZE,
    partitions: PARTITIONS,
    tables: TABLES,
    valueBytes: VALUE_BYTES,
    partitionsConsumedConcurrently: CONCURRENCY,
    fetchBytesPerPartition: FETCH_BYTES,
    maxWaitTimeMs: MAX_WAIT_MS,
    applierBatchChunks: DEFAULT_APPLY_BATCH_CHUNKS,
    rowsPerUpsert: DEFAULT_MAX_MUTATIONS_PER_APPLY,
    upsertParameters: 'binary arrays (src/targets/postgres-arrays.ts)',
  };
  report(JSON.stringify({ settings }));
  report(`fan-out benchmark: ${MUTATIONS} PUTs of ${VALUE_BYTES}-byte values, ${REQUEST_MUTATIONS} per request, chunkSize ${CHUNK_SIZE}, ${PARTITIONS} partitions (${CONCURRENCY} processed at once), ${TABLES} table(s), PostgreSQL ${server?.version ?? pgUrl}`);
  try {
    const plain = await plainLoop(sql, mutations);
    report(`plain batched upsert loop (1 connection, ${CHUNK_SIZE} rows/statement): ${rate(MUTATIONS, plain)}`);
    const wal = await throughWal(pgUrl, sql, mutations);
    report(`through wal, from the first write (write → intake → fanout → target topics → appliers → PostgreSQL): ${rate(MUTATIONS, wal)}`);
    report(`wal / plain: ${(plain / wal).toFixed(2)}`);
  } finally {
    await sql.end();
    await server?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});

/** The bytes the writer stores for a mutation value (the same encoding as a payload). */
function mutationBytes(value: PayloadInput | undefined): Buffer {
  const encoded = encodePayload(value ?? '');
  if ('error' in encoded) throw new Error(encoded.error);
  return encoded.bytes;
}
