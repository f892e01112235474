import type { WalWriter } from '../../src/api';
import type { NamespaceRunner } from '../../src/engine';
import {
  complete,
  expectedChunkCount,
  expectedState,
  liveEntries,
  randomMutations,
  redisState,
  seeded,
  startMutationNamespace,
  startTargetServers,
  stopTargetServers,
  tableState,
  waitForTxn,
  type MutationNamespace,
} from '../support/mutations';
import type { PostgresServer } from '../support/postgres';
import type { RedisServer } from '../support/redis';

const TABLES = { orders: 'orders', users: 'users', items: 'items' };
const TARGETS = [...Object.keys(TABLES), 'cache'];

describe('multi-partition mutations on the real broker, PostgreSQL and Redis', () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  let env: MutationNamespace;
  let runner: NamespaceRunner | undefined;
  let writer: WalWriter;

  beforeAll(async () => {
    ({ pg, redis } = await startTargetServers());
    ({ env, writer, runner } = await startMutationNamespace({ pgUrl: pg.url, redisUrl: redis.url, tables: TABLES, redisTarget: 'cache', chunkSize: 100 }));
  }, 60_000);

  afterAll(async () => {
    await runner?.stop();
    await writer?.close();
    await stopTargetServers(pg, redis);
  });

  it('applies a 10k-mutation request over three tables and Redis: every row right, txn complete, chunks as chunkSize implies', async () => {
    const mutations = randomMutations(10_000, TARGETS, 1500, seeded(10));
    const result = await writer.writeToLog({ namespace: env.namespace.name, id: 'txn-10k', mutations });
    expect(result.durable).toBe('true');

    const status = await waitForTxn(env.kafka, env.namespace, 'txn-10k', complete, 45_000);

    const expected = expectedState(mutations);
    for (const [target, table] of Object.entries(TABLES)) expect(await tableState(pg.url, table)).toEqual(liveEntries(expected, target));
    expect(await redisState(redis.url, env.redisPrefix)).toEqual(liveEntries(expected, 'cache'));

    const chunkCount = expectedChunkCount(mutations, 100, env.namespace.partitions);
    expect(status).toMatchObject({ status: 'complete', chunkCount, applied: chunkCount, failed: 0, pending: 0 });
    for (const target of TARGETS) {
      const own = mutations.filter((m) => m.target === target);
      const chunks = expectedChunkCount(own, 100, env.namespace.partitions);
      expect(status.targets[target]).toEqual({ expected: chunks, applied: chunks, failed: 0, retries: 0 });
    }
    // Exactly one record per chunk on the per-target topics (no crash, so no replay).
    const admin = env.kafka.admin();
    await admin.connect();
    let records = 0;
    for (const target of TARGETS) {
      for (const p of await admin.fetchTopicOffsets(env.namespace.topics.targets[target])) records += Number(p.high);
    }
    await admin.disconnect();
    expect(records).toBe(chunkCount);
  }, 60_000);

  it('keeps, per key, the value of the highest sequence when transactions on the same keys interleave', async () => {
    const random = seeded(77);
    // Three requests over the same 200 keys (not the previous test's), sequences drawn from one shuffled range, so which
    // request holds a key's newest value varies from key to key; all three in flight at once.
    const sequences = Array.from({ length: 6000 }, (_, i) => i + 1).sort(() => random() - 0.5);
    const txns = ['txn-a', 'txn-b', 'txn-c'].map((id, t) => ({
      id,
      mutations: randomMutations(2000, ['orders', 'cache'], 200, random).map((m, i) => ({ ...m, key: `i-${m.key}`, sequence: sequences[t * 2000 + i] })),
    }));
    const results = await Promise.all(txns.map((t) => writer.writeToLog({ namespace: env.namespace.name, id: t.id, mutations: t.mutations })));
    expect(results.map((r) => r.durable)).toEqual(['true', 'true', 'true']);
    await Promise.all(txns.map((t) => waitForTxn(env.kafka, env.namespace, t.id, complete, 30_000)));

    const all = txns.flatMap((t) => t.mutations);
    const expected = expectedState(all);
    // Sanity of the setup: newest values really are spread over the three requests.
    const winners = new Set([...expected.get('orders')!.keys()].map((k) => txns.findIndex((t) => t.mutations.some((m) => m.target === 'orders' && m.key === k && m.sequence === Math.max(...all.filter((x) => x.target === 'orders' && x.key === k).map((x) => x.sequence))))));
    expect(winners.size).toBe(3);

    const orders = await tableState(pg.url, 'orders');
    const cache = await redisState(redis.url, env.redisPrefix);
    for (const [key, value] of expected.get('orders')!) expect([key, orders.get(key) ?? null]).toEqual([key, value]);
    for (const [key, value] of expected.get('cache')!) expect([key, cache.get(key) ?? null]).toEqual([key, value]);

    // A request written last but carrying older sequences changes nothing.
    const stale = txns[0].mutations.map((m) => ({ ...m, op: 'PUT' as const, value: 'stale', sequence: 0 }));
    expect((await writer.writeToLog({ namespace: env.namespace.name, id: 'txn-stale', mutations: stale })).durable).toBe('true');
    await waitForTxn(env.kafka, env.namespace, 'txn-stale', complete, 30_000);
    expect(await tableState(pg.url, 'orders')).toEqual(orders);
    expect(await redisState(redis.url, env.redisPrefix)).toEqual(cache);
  }, 60_000);
});
