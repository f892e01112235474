import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { Client as MemcachedClient } from 'memjs';
import { Client } from 'pg';
import { parseConfig, type NamespaceConfig, type WalConfig } from '../../src/namespaces';
import { applyTopics } from '../../src/kafka';
import { planTopics } from '../../src/namespaces/topic-plan';
import { keyPartition, mutationTopology, readTxnStatus, type TxnStatus } from '../../src/mutations';
import { NamespaceRunner } from '../../src/engine';
import { createWalWriter, type MutationInput, type WalWriter } from '../../src/api';
import { testCluster, uniqueTopic } from './clusters';
import { startPostgres, type PostgresServer } from './postgres';
import { startRedis, type RedisServer } from './redis';
import { engineOptionsOf } from '../../src/personas';
import { encodePayload } from '../../src/api/request';
import { decodeCacheEntry, type CacheEntry } from '../../src/targets';
import type { PayloadInput } from '../../src/api/types';

/** A private PostgreSQL and Redis for a fan-out test, started side by side. */
export async function startTargetServers(): Promise<{ pg: PostgresServer; redis: RedisServer }> {
  const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  return { pg, redis };
}

/** Stops what `startTargetServers` started; either may be missing when the start failed. */
export async function stopTargetServers(pg: PostgresServer | undefined, redis: RedisServer | undefined): Promise<void> {
  await Promise.allSettled([pg?.stop(), redis?.stop()]);
}

export interface MutationNamespaceOptions {
  /** Needed when `tables` names any. */
  readonly pgUrl?: string;
  /** Needed with `redisTarget`. */
  readonly redisUrl?: string;
  /** PostgreSQL targets: target name → table. */
  readonly tables: Record<string, string>;
  /** Redis target name (key prefix `<namespace>:`), omitted when undefined. */
  readonly redisTarget?: string;
  /** A memcached target (key prefix `<namespace>:`) over these servers, omitted when undefined. */
  readonly memcached?: { readonly target: string; readonly servers: readonly string[] };
  /** More targets, target name → YAML flow mapping (e.g. a cassandra target). */
  readonly otherTargets?: Record<string, string>;
  readonly partitions?: number;
  readonly chunkSize?: number;
  readonly maxRetries?: number;
  /** YAML flow mapping, e.g. `{ initialMs: 200, maxMs: 1s, multiplier: 2, jitter: 0 }`. */
  readonly backoff?: string;
  /** YAML lines appended to the namespace (indented by 4). */
  readonly extra?: string;
}

export interface MutationNamespace {
  readonly config: WalConfig;
  readonly namespace: NamespaceConfig;
  readonly kafka: Kafka;
  /** The YAML the config was parsed from (for child processes and the CLI). */
  readonly yaml: string;
  /** Key prefix of the Redis and memcached targets. */
  readonly redisPrefix: string;
}

/** A fresh namespace on test cluster A with PostgreSQL (and Redis) targets, its topics created. */
export async function mutationNamespace(options: MutationNamespaceOptions): Promise<MutationNamespace> {
  const cluster = testCluster('A');
  const name = uniqueTopic('mut');
  const redisPrefix = `${name}:`;
  const targets = Object.entries(options.tables).map(
    ([target, table]) => `      ${target}: { type: postgres, connectionString: "${options.pgUrl}", table: ${table} }`,
  );
  if (options.redisTarget) targets.push(`      ${options.redisTarget}: { type: redis, url: "${options.redisUrl}", keyPrefix: "${redisPrefix}" }`);
  if (options.memcached) {
    targets.push(`      ${options.memcached.target}: { type: memcached, servers: "${options.memcached.servers.join(',')}", keyPrefix: "${redisPrefix}" }`);
  }
  for (const [target, flow] of Object.entries(options.otherTargets ?? {})) targets.push(`      ${target}: ${flow}`);
  const yaml = `
clusters:
  primary:
    brokers: ${cluster.brokers.join(',')}
    schemaRegistryUrl: ${cluster.registryUrl}
namespaces:
  - name: ${name}
    partitions: ${options.partitions ?? 3}
    backoff: ${options.backoff ?? '{ initialMs: 200, maxMs: 1s, multiplier: 2, jitter: 0.2 }'}
    maxRetries: ${options.maxRetries ?? 3}
    chunking: { chunkSize: ${options.chunkSize ?? 100} }
    targets:
${targets.join('\n')}
    runtime: { commitIntervalMs: 500, punctuationIntervalMs: 100 }
${options.extra ?? ''}
`;
  const config = parseConfig(yaml, `${name}.yaml`);
  const namespace = config.namespaces[0];
  const kafka = new Kafka({ brokers: cluster.brokers, clientId: name, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await applyTopics(admin, planTopics(namespace));
  } finally {
    await admin.disconnect();
  }
  return { config, namespace, kafka, yaml, redisPrefix };
}

/** Runs the mutation topology (intake → fanout → appliers → tracker) in this process. */
export async function startMutations(config: WalConfig, namespace: NamespaceConfig, options: { stateDir?: string } = {}): Promise<{ runner: NamespaceRunner; stateDir: string }> {
  const stateDir = options.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wal-mut-'));
  const cluster = config.clusters[namespace.cluster];
  const runner = new NamespaceRunner({
    kafka: new Kafka({ brokers: cluster.brokers, clientId: `${namespace.name}-runner`, logLevel: logLevel.NOTHING }),
    engine: engineOptionsOf(namespace),
    topology: mutationTopology(namespace, { clusters: config.clusters }),
    stateDir,
    instanceId: `test-${process.pid}`,
    tuning: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, maxWaitTimeMs: 200 },
  });
  await runner.start();
  return { runner, stateDir };
}

/** A fresh mutation namespace (`mutationNamespace`), a writer for it and its topology running in this process. */
export async function startMutationNamespace(options: MutationNamespaceOptions): Promise<{ env: MutationNamespace; writer: WalWriter; runner: NamespaceRunner }> {
  const env = await mutationNamespace(options);
  const writer = createWalWriter({ config: env.config, timeoutMs: 20_000 });
  const { runner } = await startMutations(env.config, env.namespace);
  return { env, writer, runner };
}

/** Polls the txn-status topic until `done(status)`; rejects after `timeoutMs` with the last status seen. */
export async function waitForTxn(kafka: Kafka, namespace: NamespaceConfig, txnId: string, done: (s: TxnStatus) => boolean, timeoutMs: number): Promise<TxnStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: TxnStatus | undefined;
  for (;;) {
    last = await readTxnStatus(kafka, namespace, txnId).catch(() => undefined);
    if (last && done(last)) return last;
    if (Date.now() > deadline) throw new Error(`txn ${txnId} not as expected within ${timeoutMs} ms; last status: ${JSON.stringify(last, (k, v) => (k === 'chunks' ? undefined : v))}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export const complete = (s: TxnStatus): boolean => s.status === 'complete';

/** The final value per key a list of mutations implies: the highest sequence wins; null = deleted. */
export function expectedState(mutations: readonly MutationInput[]): Map<string, Map<string, string | null>> {
  const best = new Map<string, { sequence: number; value: string | null }>();
  for (const m of mutations) {
    const id = `${m.target}\u0000${m.key}`;
    const seen = best.get(id);
    if (!seen || m.sequence > seen.sequence) best.set(id, { sequence: m.sequence, value: m.op === 'DELETE' ? null : mutationBytes(m.value).toString() });
  }
  const byTarget = new Map<string, Map<string, string | null>>();
  for (const [id, { value }] of best) {
    const [target, key] = id.split('\u0000') as [string, string];
    if (!byTarget.has(target)) byTarget.set(target, new Map());
    byTarget.get(target)!.set(key, value);
  }
  return byTarget;
}

/** Live rows of a target table (what a reader sees: `WHERE NOT wal_deleted`), key → value. */
export async function tableState(pgUrl: string, table: string): Promise<Map<string, string>> {
  const sql = new Client({ connectionString: pgUrl });
  await sql.connect();
  try {
    const result = await sql.query<{ key: string; value: string }>(`SELECT key, convert_from(value, 'UTF8') AS value FROM ${table} WHERE NOT wal_deleted`);
    return new Map(result.rows.map((r) => [r.key, r.value]));
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return new Map(); // not created yet
    throw error;
  } finally {
    await sql.end();
  }
}

/** Live keys under a Redis prefix (sequence keys excluded), key without prefix → value. */
export async function redisState(redisUrl: string, prefix: string): Promise<Map<string, string>> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch.filter((k) => !k.endsWith(':wal-seq')));
    } while (cursor !== '0');
    const values = keys.length > 0 ? await redis.mget(...keys) : [];
    return new Map(keys.map((k, i) => [k.slice(prefix.length), values[i] ?? '']));
  } finally {
    redis.disconnect();
  }
}

/**
 * What a memcached target holds for `keys` (memcached cannot list keys), read as the target's readers
 * would through memjs over the same servers: key → entry (null: no item).
 */
export async function memcachedEntries(servers: readonly string[], prefix: string, keys: Iterable<string>): Promise<Map<string, CacheEntry | null>> {
  const client = MemcachedClient.create(servers.join(','), { retries: 1, timeout: 2, logger: { log: () => undefined } });
  try {
    const entries = new Map<string, CacheEntry | null>();
    for (const key of keys) {
      const { value } = await client.get(`${prefix}${key}`);
      const entry = value === null ? null : decodeCacheEntry(value);
      if (entry === undefined) throw new Error(`memcached key ${prefix}${key} holds bytes that are not a wal entry`);
      entries.set(key, entry);
    }
    return entries;
  } finally {
    client.close();
  }
}

/** Live values of memcached entries (tombstones and misses absent), key → value as text. */
export function liveCacheValues(entries: Map<string, CacheEntry | null>): Map<string, string> {
  return new Map([...entries].flatMap(([key, entry]) => (entry?.kind === 'value' ? [[key, entry.value.toString()] as [string, string]] : [])));
}

/** Live entries the expected state implies for one target (deleted keys absent). */
export function liveEntries(expected: Map<string, Map<string, string | null>>, target: string): Map<string, string> {
  return new Map([...(expected.get(target) ?? new Map<string, string | null>())].filter((e): e is [string, string] => e[1] !== null));
}

/** Chunks a request's mutations make: ceil(n / chunkSize) per target and key partition (documented plan). */
export function expectedChunkCount(mutations: readonly MutationInput[], chunkSize: number, partitions: number): number {
  const groups = new Map<string, number>();
  for (const m of mutations) {
    const group = `${m.target}/${keyPartition(m.key, partitions)}`;
    groups.set(group, (groups.get(group) ?? 0) + 1);
  }
  return [...groups.values()].reduce((sum, n) => sum + Math.ceil(n / chunkSize), 0);
}

/** Seeded pseudo-random numbers, so a failing run can be repeated. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` mutations over `targets` and `keys` keys per target, sequences increasing in request order;
 * about `deleteShare` of them (one in ten by default) a DELETE.
 */
export function randomMutations(count: number, targets: readonly string[], keys: number, random: () => number, firstSequence = 1, deleteShare = 0.1): MutationInput[] {
  return Array.from({ length: count }, (_, i): MutationInput => {
    const target = targets[i % targets.length];
    const key = `k${Math.floor(random() * keys)}`;
    const sequence = firstSequence + i;
    return random() < deleteShare ? { target, key, op: 'DELETE', sequence } : { target, key, op: 'PUT', value: `${target}/${key}@${sequence}`, sequence };
  });
}

/** The newest sequence per key of one target, and whether it deleted the key. */
export function newestByKey(mutations: readonly MutationInput[], target: string): Map<string, { sequence: number; deleted: boolean }> {
  const newest = new Map<string, { sequence: number; deleted: boolean }>();
  for (const m of mutations) {
    if (m.target !== target) continue;
    const seen = newest.get(m.key);
    if (!seen || m.sequence > seen.sequence) newest.set(m.key, { sequence: m.sequence, deleted: m.op === 'DELETE' });
  }
  return newest;
}

/** The bytes the writer stores for a mutation value (the same encoding as a payload). */
function mutationBytes(value: PayloadInput | undefined): Buffer {
  const encoded = encodePayload(value ?? '');
  if ('error' in encoded) throw new Error(encoded.error);
  return encoded.bytes;
}
