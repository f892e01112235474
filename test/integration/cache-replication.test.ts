import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWalWriter, type MutationInput, type WalWriter } from '../../src/api';
import { findNamespace, parseConfig, type NamespaceConfig, type WalConfig } from '../../src/namespaces';
import { DLQ_HEADERS } from '../../src/wire/headers';
import { testCluster, uniqueTopic } from '../support/clusters';
import { startMemcached, type MemcachedServer } from '../support/memcached';
import { headerText, kafkaFor, readTopic } from '../support/mirror-fixture';
import { expectedState, liveCacheValues, liveEntries, memcachedEntries, newestByKey, randomMutations, seeded } from '../support/mutations';
import { eventually } from '../support/timing';
import { killStartedWal, startWalProcess, type WalProcess } from '../support/wal-cli';

/**
 * The PRD's cache replication persona, end to end, in the shape of topologies/cache-replication.yaml:
 * cache writes and deletes made through WriteToLog on cluster A land in A's memcached and, through the
 * mirror to cluster B and the replica namespace there, in B's memcached. Two `wal start` processes, as
 * two regions would run them: A's (the namespace and the mirror) and B's (the replica), which is
 * killed with SIGKILL in the middle of the run and started again.
 */

const REQUESTS = 500;
const PER_REQUEST = 10;
const KEYS = 400;
const WAVE = 25;

describe('cache replication across regions (A → mirror → B), memcached on both sides', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-cache-replication-'));
  const configFile = path.join(dir, 'cache-replication.yaml');
  let servers: MemcachedServer[] = [];
  let config: WalConfig;
  let origin: NamespaceConfig;
  let replica: NamespaceConfig;
  let writer: WalWriter | undefined;
  let walA: WalProcess | undefined;
  let walB: WalProcess | undefined;

  const startB = (): Promise<WalProcess> =>
    startWalProcess({ configFile, stateDir: path.join(dir, 'state-b'), instanceId: 'region-b', extraArgs: ['--namespace', replica.name, '--create-topics'] });

  beforeAll(async () => {
    servers = await Promise.all([startMemcached(), startMemcached()]);
    const [a, b] = [testCluster('A'), testCluster('B')];
    const name = uniqueTopic('cache');
    const target = (server: MemcachedServer) => `{ cache: { type: memcached, servers: "${server.address}", keyPrefix: "${name}:" } }`;
    fs.writeFileSync(
      configFile,
      `
clusters:
  A: { brokers: "${a.brokers.join(',')}", schemaRegistryUrl: "${a.registryUrl}" }
  B: { brokers: "${b.brokers.join(',')}", schemaRegistryUrl: "${b.registryUrl}" }
namespaces:
  - name: ${name}
    cluster: A
    partitions: 3
    targets: ${target(servers[0])}
    runtime: { commitIntervalMs: 500ms, punctuationIntervalMs: 100ms }
  - name: ${name}-mirror
    cluster: A
    replication: { source: A, targets: [B], topics: [wal.${name}.intake], rename: prefix }
  - name: ${name}-b
    cluster: B
    replicaOf: ${name}
    partitions: 3
    targets: ${target(servers[1])}
    runtime: { commitIntervalMs: 500ms, punctuationIntervalMs: 100ms }
`,
    );
    config = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile, {});
    origin = findNamespace(config, name)!;
    replica = findNamespace(config, `${name}-b`)!;
    // Each region's processes create their own topics; the mirror creates B's copy of A's intake.
    walA = await startWalProcess({ configFile, stateDir: path.join(dir, 'state-a'), instanceId: 'region-a', extraArgs: ['--namespace', origin.name, `${name}-mirror`, '--create-topics'] });
    walB = await startB();
    writer = createWalWriter({ config, timeoutMs: 20_000 });
    await writer.connect();
  }, 120_000);

  afterAll(async () => {
    await writer?.close();
    for (const wal of [walA, walB]) {
      if (wal && wal.child.exitCode === null) wal.child.kill('SIGTERM');
      await wal?.exited;
    }
    killStartedWal();
    await Promise.allSettled(servers.map((s) => s.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /** The reasons of what a namespace's DLQ holds. */
  async function deadLetters(cluster: 'A' | 'B', ns: NamespaceConfig): Promise<string[]> {
    const kafka = kafkaFor(testCluster(cluster), 'cache-replication-test');
    const admin = kafka.admin();
    await admin.connect();
    const held = await admin.fetchTopicOffsets(ns.topics.dlq).finally(() => admin.disconnect());
    const count = held.reduce((sum, p) => sum + Number(p.high), 0);
    if (count === 0) return [];
    const records = await readTopic(kafka, ns.topics.dlq, (r) => r.length >= count, 20_000);
    return records.map((r) => `${cluster}: ${headerText(r.message, DLQ_HEADERS.reason)}`);
  }

  /** Per key the model touched: the cache's kind and sequence, and the live values. */
  async function cacheState(server: MemcachedServer, keys: Iterable<string>) {
    const entries = await memcachedEntries([server.address], `${origin.name}:`, keys);
    return { bySequence: new Map([...entries].map(([key, e]) => [key, e ? `${e.kind}@${e.sequence}` : 'absent'])), live: liveCacheValues(entries) };
  }

  it('5k sets and deletes on overlapping keys end in both caches exactly as the model, through a kill -9 of B mid-run', async () => {
    const random = seeded(2020);
    const requests = Array.from({ length: REQUESTS }, (_, r) => ({
      id: `cache-${r}`,
      mutations: randomMutations(PER_REQUEST, ['cache'], KEYS, random, 1 + r * PER_REQUEST, 0.3),
    }));
    const all: MutationInput[] = requests.flatMap((r) => r.mutations);
    const newest = newestByKey(all, 'cache');
    const deletes = all.filter((m) => m.op === 'DELETE').length;
    const model = {
      bySequence: new Map([...newest].map(([key, n]) => [key, `${n.deleted ? 'tombstone' : 'value'}@${n.sequence}`])),
      live: liveEntries(expectedState(all), 'cache'),
    };
    expect(deletes).toBeGreaterThan(1000);
    expect(model.live.size).toBeLessThan(newest.size); // some keys end deleted

    const started = Date.now();
    let killedAfter: { requests: number; keysInB: number; ms: number } | undefined;
    for (let from = 0; from < REQUESTS; from += WAVE) {
      const wave = requests.slice(from, from + WAVE);
      // Concurrent requests on overlapping keys: their chunks interleave on every target partition.
      const results = await Promise.all(wave.map((r) => writer!.writeToLog({ namespace: origin.name, id: r.id, mutations: r.mutations })));
      expect(results.filter((r) => r.durable !== 'true')).toEqual([]);
      if (!killedAfter && from + WAVE >= REQUESTS / 2) {
        // Mid-run, once B applies: kill B's instance without letting it commit anything more.
        const keysInB = await eventually(
          async () => {
            const { bySequence } = await cacheState(servers[1], newest.keys());
            const applied = [...bySequence.values()].filter((v) => v !== 'absent').length;
            return applied > 0 ? applied : undefined;
          },
          30_000,
          'region B to apply some of the writes',
        );
        walB!.child.kill('SIGKILL');
        await walB!.exited;
        killedAfter = { requests: from + WAVE, keysInB, ms: Date.now() - started };
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const writtenMs = Date.now() - started;
    walB = await startB();

    const [stateA, stateB] = await Promise.all(
      servers.map((server, i) =>
        eventually(
          async () => {
            const state = await cacheState(server, newest.keys());
            return [...model.bySequence].every(([key, v]) => state.bySequence.get(key) === v) ? state : undefined;
          },
          60_000,
          `region ${i === 0 ? 'A' : 'B'}'s cache to equal the model`,
        ),
      ),
    );
    const convergedMs = Date.now() - started;
    console.log(
      `cache replication: ${REQUESTS} requests, ${all.length} mutations (${all.length - deletes} sets, ${deletes} deletes) on ${newest.size} keys; ` +
        `written in ${writtenMs} ms; B killed with SIGKILL after ${killedAfter?.requests} requests (${killedAfter?.ms} ms, ${killedAfter?.keysInB} keys in B's cache); ` +
        `both caches equal the model ${convergedMs} ms after the first write (${model.live.size} live keys, ${newest.size - model.live.size} deleted)`,
    );
    // Killed mid-run: B had applied some writes, and more were written after the kill.
    expect(killedAfter!.requests).toBeLessThan(REQUESTS);
    // Same final value or tombstone, and the same newest sequence, per key on both sides.
    expect(stateA.bySequence).toEqual(model.bySequence);
    expect(stateB.bySequence).toEqual(model.bySequence);
    expect(stateA.live).toEqual(model.live);
    expect(stateB.live).toEqual(model.live);

    // Nothing was dead-lettered on either side (a replayed or repeated copy is absorbed, not refused).
    expect([...(await deadLetters('A', origin)), ...(await deadLetters('B', replica))]).toEqual([]);
  }, 150_000);
});
