import type { MutationInput, WalWriter } from '../../src/api';
import type { NamespaceRunner } from '../../src/engine';
import { startMemcached, type MemcachedServer } from '../support/memcached';
import {
  complete,
  expectedChunkCount,
  expectedState,
  liveCacheValues,
  liveEntries,
  memcachedEntries,
  newestByKey,
  randomMutations,
  seeded,
  startMutationNamespace,
  waitForTxn,
  type MutationNamespace,
} from '../support/mutations';

describe('multi-partition mutations into memcached (two servers) through the runner', () => {
  let servers: MemcachedServer[] = [];
  let addresses: string[];
  let env: MutationNamespace;
  let runner: NamespaceRunner | undefined;
  let writer: WalWriter;

  beforeAll(async () => {
    servers = await Promise.all([startMemcached(), startMemcached()]);
    addresses = servers.map((s) => s.address);
    ({ env, writer, runner } = await startMutationNamespace({ tables: {}, memcached: { target: 'cache', servers: addresses }, chunkSize: 100 }));
  }, 60_000);

  afterAll(async () => {
    await runner?.stop();
    await writer?.close();
    await Promise.allSettled(servers.map((s) => s.stop()));
  });

  /** Asserts the cache holds, for every key the mutations touched, what the model says: value, tombstone and sequence. */
  async function expectCacheToMatch(mutations: readonly MutationInput[]): Promise<void> {
    const newest = newestByKey(mutations, 'cache');
    const entries = await memcachedEntries(addresses, env.redisPrefix, newest.keys());
    expect(liveCacheValues(entries)).toEqual(liveEntries(expectedState(mutations), 'cache'));
    for (const [key, { sequence, deleted }] of newest) {
      expect([key, entries.get(key)?.kind, entries.get(key)?.sequence]).toEqual([key, deleted ? 'tombstone' : 'value', sequence]);
    }
  }

  it('applies a 5k-mutation request of sets and deletes: the cache equals the model, txn complete, one record per chunk', async () => {
    const mutations = randomMutations(5000, ['cache'], 800, seeded(20));
    expect(mutations.some((m) => m.op === 'DELETE')).toBe(true);
    const result = await writer.writeToLog({ namespace: env.namespace.name, id: 'mc-5k', mutations });
    expect(result.durable).toBe('true');

    const status = await waitForTxn(env.kafka, env.namespace, 'mc-5k', complete, 45_000);

    await expectCacheToMatch(mutations);
    const chunkCount = expectedChunkCount(mutations, 100, env.namespace.partitions);
    expect(status).toMatchObject({ status: 'complete', chunkCount, applied: chunkCount, failed: 0, pending: 0 });
    expect(status.targets.cache).toEqual({ expected: chunkCount, applied: chunkCount, failed: 0, retries: 0 });
  }, 60_000);

  it('keeps, per key, the highest sequence when requests on the same keys interleave, and a stale request changes nothing', async () => {
    const random = seeded(78);
    const sequences = Array.from({ length: 4500 }, (_, i) => i + 1).sort(() => random() - 0.5);
    const txns = ['mc-a', 'mc-b', 'mc-c'].map((id, t) => ({
      id,
      mutations: randomMutations(1500, ['cache'], 150, random).map((m, i) => ({ ...m, key: `i-${m.key}`, sequence: sequences[t * 1500 + i] })),
    }));
    const results = await Promise.all(txns.map((t) => writer.writeToLog({ namespace: env.namespace.name, id: t.id, mutations: t.mutations })));
    expect(results.map((r) => r.durable)).toEqual(['true', 'true', 'true']);
    await Promise.all(txns.map((t) => waitForTxn(env.kafka, env.namespace, t.id, complete, 30_000)));

    const all = txns.flatMap((t) => t.mutations);
    // Sanity of the setup: the newest value of a key comes from each of the three requests somewhere.
    const winners = new Set([...newestByKey(all, 'cache')].map(([key, { sequence }]) => txns.findIndex((t) => t.mutations.some((m) => m.key === key && m.sequence === sequence))));
    expect(winners.size).toBe(3);
    await expectCacheToMatch(all);

    // Written last, but every sequence older than what the cache holds: nothing changes.
    const stale = txns[0].mutations.map((m) => ({ ...m, op: 'PUT' as const, value: 'stale', sequence: 0 }));
    expect((await writer.writeToLog({ namespace: env.namespace.name, id: 'mc-stale', mutations: stale })).durable).toBe('true');
    await waitForTxn(env.kafka, env.namespace, 'mc-stale', complete, 30_000);
    await expectCacheToMatch(all);
  }, 60_000);
});
