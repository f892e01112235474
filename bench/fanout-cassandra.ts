/**
 * Fan-out into Cassandra (not a test: numbers, no assertions): mutations per second applied to a
 * Cassandra table through wal (writer → intake → fanout → per-target topic → applier → cassandra
 * target) versus plain driver loops writing the same rows, same run, same node:
 *   - unlogged batches of CHUNK_SIZE statements, one batch at a time;
 *   - CHUNK_SIZE prepared statements executed concurrently per chunk, one chunk at a time (the target's way).
 *
 *   KAFKA_BROKERS=host:port SCHEMA_REGISTRY_URL=http://host:port/apis/ccompat/v7 node dist-bench/bench/fanout-cassandra.js
 *
 * Cassandra: WAL_CASSANDRA_CONTACT_POINTS (datacenter WAL_CASSANDRA_DC, default datacenter1), or a private
 * node from Maven Central jars (src/devcluster/cassandra.ts). Env: MUTATIONS (default 50000),
 * REQUEST_MUTATIONS per request (5000), CHUNK_SIZE (100), PARTITIONS (3), VALUE_BYTES (100).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, types } from 'cassandra-driver';
import { createWalWriter, type MutationInput } from '../src/api';
import { parseConfig } from '../src/namespaces';
import { applyTopics } from '../src/kafka';
import { planTopics } from '../src/namespaces/topic-plan';
import { mutationTopology, readTxnStatus } from '../src/mutations';
import { NamespaceRunner } from '../src/engine';
import { startCassandra, CASSANDRA_DATACENTER } from '../src/devcluster/cassandra';
import { benchKafka } from './lib/kafka';
import { engineOptionsOf } from '../src/personas';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const registry = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const MUTATIONS = Number(process.env.MUTATIONS ?? 50_000);
const REQUEST_MUTATIONS = Number(process.env.REQUEST_MUTATIONS ?? 5000);
const CHUNK_SIZE = Number(process.env.CHUNK_SIZE ?? 100);
const PARTITIONS = Number(process.env.PARTITIONS ?? 3);
const VALUE_BYTES = Number(process.env.VALUE_BYTES ?? 100);
const run = `benchcass${Date.now().toString(36)}`;
const KEYSPACE = run;

function report(line: string): void {
  process.stdout.write(`${line}\n`);
}

function rate(count: number, ms: number): string {
  return `${Math.round((count / ms) * 1000).toLocaleString('en-US')} mutations/s (${count} in ${(ms / 1000).toFixed(2)} s)`;
}

async function count(cql: Client, table: string): Promise<number> {
  const result = await cql.execute(`SELECT count(*) AS n FROM ${KEYSPACE}.${table}`, [], { readTimeout: 60_000 }).catch(() => undefined);
  return result ? Number(result.rows[0].n) : 0;
}

async function createTable(cql: Client, table: string): Promise<void> {
  await cql.execute(`CREATE TABLE ${KEYSPACE}.${table} (key text PRIMARY KEY, value blob)`);
}

/** Unlogged batches of CHUNK_SIZE INSERT … USING TIMESTAMP, one at a time. */
async function plainBatches(cql: Client, mutations: MutationInput[], value: Buffer): Promise<number> {
  const table = 'plain_batch';
  await createTable(cql, table);
  const insert = `INSERT INTO ${KEYSPACE}.${table} (key, value) VALUES (?, ?) USING TIMESTAMP ?`;
  const started = Date.now();
  for (let i = 0; i < mutations.length; i += CHUNK_SIZE) {
    const batch = mutations.slice(i, i + CHUNK_SIZE).map((m) => ({ query: insert, params: [m.key, value, types.Long.fromNumber(m.sequence)] }));
    await cql.batch(batch, { prepare: true, logged: false });
  }
  return Date.now() - started;
}

/** CHUNK_SIZE prepared statements in flight per chunk, one chunk at a time: the cassandra target's shape. */
async function plainConcurrent(cql: Client, mutations: MutationInput[], value: Buffer): Promise<number> {
  const table = 'plain_concurrent';
  await createTable(cql, table);
  const insert = `INSERT INTO ${KEYSPACE}.${table} (key, value) VALUES (?, ?) USING TIMESTAMP ?`;
  const started = Date.now();
  for (let i = 0; i < mutations.length; i += CHUNK_SIZE) {
    await Promise.all(mutations.slice(i, i + CHUNK_SIZE).map((m) => cql.execute(insert, [m.key, value, types.Long.fromNumber(m.sequence)], { prepare: true })));
  }
  return Date.now() - started;
}

async function throughWal(contactPoint: string, dc: string, cql: Client, mutations: MutationInput[]): Promise<number> {
  const table = 'wal_rows';
  const yaml = `
clusters:
  primary: { brokers: "${brokers.join(',')}", schemaRegistryUrl: "${registry}" }
namespaces:
  - name: ${run}
    partitions: ${PARTITIONS}
    maxPayloadBytes: 4MiB
    chunking: { chunkSize: ${CHUNK_SIZE} }
    targets:
      rows: { type: cassandra, contactPoints: "${contactPoint}", localDataCenter: ${dc}, keyspace: ${KEYSPACE}, table: ${table} }
`;
  const config = parseConfig(yaml, `${run}.yaml`);
  const namespace = config.namespaces[0];
  const kafka = benchKafka(brokers, run, config.clusters.primary);
  const admin = kafka.admin();
  await admin.connect();
  await applyTopics(admin, planTopics(namespace));
  await admin.disconnect();
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'wal-bench-cass-'));
  const runner = new NamespaceRunner({ kafka, engine: engineOptionsOf(namespace), topology: mutationTopology(namespace, { clusters: config.clusters }), stateDir, instanceId: 'bench', tuning: { maxWaitTimeMs: 100 } });
  const writer = createWalWriter({ config, timeoutMs: 60_000 });
  try {
    await runner.start();
    await writer.connect();
    // Warm-up: one small request, so table creation, schema registration and group join are not timed.
    const warm = await writer.writeToLog({ namespace: run, id: `${run}-warm`, mutations: [{ target: 'rows', key: 'warm', op: 'PUT', value: 'x', sequence: 0 }] });
    if (warm.durable !== 'true') throw new Error(`warm-up write failed: ${warm.message}`);
    while ((await count(cql, table)) < 1) await new Promise((r) => setTimeout(r, 100));

    const started = Date.now();
    const requests = [];
    for (let i = 0; i < mutations.length; i += REQUEST_MUTATIONS) {
      requests.push({ namespace: run, id: `${run}-${i / REQUEST_MUTATIONS}`, mutations: mutations.slice(i, i + REQUEST_MUTATIONS) });
    }
    const results = await writer.writeBatch(requests);
    const bad = results.find((r) => r.durable !== 'true');
    if (bad) throw new Error(`write failed: ${bad.message}`);
    const written = Date.now();
    const last = requests[requests.length - 1].id;
    // Every transaction complete means every row is in; counting 50k rows in Cassandra is slow itself.
    for (const request of requests) {
      while ((await readTxnStatus(kafka, namespace, request.id))?.status !== 'complete') await new Promise((r) => setTimeout(r, 100));
    }
    const elapsed = Date.now() - started;
    report(`  all requests acked by the broker ${((written - started) / 1000).toFixed(2)} s after the first write`);
    report(`  every txn complete (the last ${last}); the table holds ${await count(cql, table)} rows, expected ${mutations.length + 1}`);
    return elapsed;
  } finally {
    await runner.stop();
    await writer.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const given = process.env.WAL_CASSANDRA_CONTACT_POINTS;
  const dc = process.env.WAL_CASSANDRA_DC ?? CASSANDRA_DATACENTER;
  const node = given ? undefined : await startCassandra({ onProgress: (m) => process.stderr.write(`${m}\n`) });
  const contactPoint = given ?? node!.contactPoint;
  const cql = new Client({ contactPoints: [contactPoint], localDataCenter: dc, socketOptions: { readTimeout: 60_000 } });
  await cql.connect();
  await cql.execute(`CREATE KEYSPACE ${KEYSPACE} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
  const value = Buffer.from('v'.repeat(VALUE_BYTES));
  const mutations: MutationInput[] = Array.from({ length: MUTATIONS }, (_, i) => ({ target: 'rows', key: `k${i}`, op: 'PUT', value: 'v'.repeat(VALUE_BYTES), sequence: i + 1 }));
  report(`Cassandra fan-out benchmark: ${MUTATIONS} PUTs of ${VALUE_BYTES}-byte values, ${REQUEST_MUTATIONS} per request, chunkSize ${CHUNK_SIZE}, ${PARTITIONS} partitions, Cassandra at ${contactPoint}`);
  try {
    const batches = await plainBatches(cql, mutations, value);
    report(`plain driver loop, unlogged batches of ${CHUNK_SIZE}: ${rate(MUTATIONS, batches)}`);
    const concurrent = await plainConcurrent(cql, mutations, value);
    report(`plain driver loop, ${CHUNK_SIZE} concurrent prepared statements per chunk: ${rate(MUTATIONS, concurrent)}`);
    const wal = await throughWal(contactPoint, dc, cql, mutations);
    report(`through wal, from the first write (write → intake → fanout → target topics → appliers → Cassandra): ${rate(MUTATIONS, wal)}`);
    report(`wal / plain batched loop: ${(batches / wal).toFixed(2)}`);
  } finally {
    await cql.execute(`DROP KEYSPACE IF EXISTS ${KEYSPACE}`).catch(() => undefined);
    await cql.shutdown();
    await node?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
