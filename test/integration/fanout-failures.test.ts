import { createWalWriter, type WalWriter } from '../../src/api';
import { metricsRegistry } from '../../src/observability/metrics';
import type { NamespaceRunner } from '../../src/runtime';
import {
  complete,
  expectedState,
  liveEntries,
  mutationNamespace,
  randomMutations,
  redisState,
  seeded,
  startMutations,
  tableState,
  waitForTxn,
  type MutationNamespace,
} from '../support/mutations';
import { startPostgres, type PostgresServer } from '../support/postgres';
import { startRedis, type RedisServer } from '../support/redis';

/** Sum of a counter over the label values that match. */
async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const metric = metricsRegistry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0);
}

describe('fan-out when a target fails', () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  const runners: NamespaceRunner[] = [];
  const writers: WalWriter[] = [];

  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(runners.map((r) => r.stop()));
    await Promise.allSettled(writers.map((w) => w.close()));
    await pg?.resume().catch(() => undefined);
    await Promise.allSettled([pg?.stop(), redis?.stop()]);
  });

  async function start(options: Partial<Parameters<typeof mutationNamespace>[0]>): Promise<{ env: MutationNamespace; writer: WalWriter }> {
    const env = await mutationNamespace({ pgUrl: pg.url, redisUrl: redis.url, tables: {}, ...options });
    const writer = createWalWriter({ config: env.config, timeoutMs: 20_000 });
    writers.push(writer);
    runners.push((await startMutations(env.config, env.namespace)).runner);
    return { env, writer };
  }

  it('retries with backoff while PostgreSQL is down, applies every mutation once it is back, and Redis does not wait', async () => {
    const backoff = { initialMs: 200, maxMs: 1000, multiplier: 2 };
    const { env, writer } = await start({
      tables: { orders: 'down_orders', users: 'down_users' },
      redisTarget: 'cache',
      maxRetries: 50,
      chunkSize: 20,
      backoff: `{ initialMs: ${backoff.initialMs}, maxMs: ${backoff.maxMs}, multiplier: ${backoff.multiplier}, jitter: 0 }`,
    });
    const labels = { namespace: env.namespace.name };
    const mutations = randomMutations(900, ['orders', 'users', 'cache'], 150, seeded(3));

    await pg.halt();
    const haltedAt = Date.now();
    expect((await writer.writeToLog({ namespace: env.namespace.name, id: 'txn-outage', mutations })).durable).toBe('true');
    // Redis chunks are applied while PostgreSQL chunks wait: one failing target holds back only itself.
    const during = await waitForTxn(env.kafka, env.namespace, 'txn-outage', (s) => s.targets.cache?.applied === s.targets.cache?.expected, 20_000);
    expect(during.status).toBe('pending');
    expect(during.targets.orders?.applied ?? 0).toBe(0);
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - haltedAt))));
    const failedTries = await counter('wal_fanout_apply_retries_total', labels);
    const outageMs = Date.now() - haltedAt;
    await pg.resume();

    const status = await waitForTxn(env.kafka, env.namespace, 'txn-outage', complete, 30_000);
    const expected = expectedState(mutations);
    expect(await tableState(pg.url, 'down_orders')).toEqual(liveEntries(expected, 'orders'));
    expect(await tableState(pg.url, 'down_users')).toEqual(liveEntries(expected, 'users'));
    expect(await redisState(redis.url, env.redisPrefix)).toEqual(liveEntries(expected, 'cache'));
    expect(status.targets.orders!.retries).toBeGreaterThan(0);
    expect(status.targets.cache!.retries).toBe(0);

    // Backoff, not a retry per punctuation (100 ms): a held queue (target × partition) retries its
    // head at 0, 200, 600, 1400, 2400, … ms, and the chunks behind it are not tried at all.
    const queues = 2 * env.namespace.partitions;
    let triesPerQueue = 1;
    for (let t = 0, d = backoff.initialMs; t + d <= outageMs + 1000; t += d, d = Math.min(backoff.maxMs, d * backoff.multiplier)) triesPerQueue += 1;
    expect(failedTries).toBeGreaterThanOrEqual(queues);
    expect(failedTries).toBeLessThanOrEqual(queues * triesPerQueue);
  }, 60_000);
});
