import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WalWriter } from '../../src/api';
import { DLQ_HEADERS, REDRIVE_HEADERS } from '../../src/wire/headers';
import { readDeadLetters } from '../../src/dlq/dead-letters';
import { metricsRegistry } from '../../src/observability/metrics';
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
  type MutationNamespaceOptions,
} from '../support/mutations';
import type { PostgresServer } from '../support/postgres';
import type { RedisServer } from '../support/redis';
import { runWal } from '../support/wal-cli';


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
    ({ pg, redis } = await startTargetServers());
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(runners.map((r) => r.stop()));
    await Promise.allSettled(writers.map((w) => w.close()));
    await pg?.resume().catch(() => undefined);
    await stopTargetServers(pg, redis);
  });

  async function start(options: Partial<MutationNamespaceOptions>): Promise<{ env: MutationNamespace; writer: WalWriter }> {
    const { env, writer, runner } = await startMutationNamespace({ pgUrl: pg.url, redisUrl: redis.url, tables: {}, ...options });
    writers.push(writer);
    runners.push(runner);
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
    // The tracker counted the transaction pending at the flush that wrote the status just read.
    expect(await counter('wal_txn_pending', labels)).toBe(1);
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - haltedAt))));
    const failedTries = await counter('wal_fanout_apply_retries_total', labels);
    const outageMs = Date.now() - haltedAt;
    await pg.resume();

    const status = await waitForTxn(env.kafka, env.namespace, 'txn-outage', complete, 30_000);
    const expected = expectedState(mutations);
    expect(await tableState(pg.url, 'down_orders')).toEqual(liveEntries(expected, 'orders'));
    expect(await tableState(pg.url, 'down_users')).toEqual(liveEntries(expected, 'users'));
    expect(await redisState(redis.url, env.redisPrefix)).toEqual(liveEntries(expected, 'cache'));
    expect(status.targets.orders.retries).toBeGreaterThan(0);
    expect(status.targets.cache.retries).toBe(0);
    expect(await counter('wal_txn_pending', labels)).toBe(0);
    expect(await counter('wal_txn_completed_total', labels)).toBe(1);
    expect(await counter('wal_txn_failed_total', labels)).toBe(0);

    // Backoff, not a retry per punctuation (100 ms): a held queue (target × partition) retries its
    // head at 0, 200, 600, 1400, 2400, … ms, and the chunks behind it are not tried at all.
    const queues = 2 * env.namespace.partitions;
    let triesPerQueue = 1;
    for (let t = 0, d = backoff.initialMs; t + d <= outageMs + 1000; t += d, d = Math.min(backoff.maxMs, d * backoff.multiplier)) triesPerQueue += 1;
    expect(failedTries).toBeGreaterThanOrEqual(queues);
    expect(failedTries).toBeLessThanOrEqual(queues * triesPerQueue);
  }, 60_000);

  it('dead-letters chunks whose retries ran out, shows the txn failed, and `wal dlq replay` re-drives it to complete', async () => {
    const { env, writer } = await start({ tables: { ledger: 'dlq_ledger' }, maxRetries: 1, chunkSize: 10, backoff: '{ initialMs: 100, maxMs: 100, multiplier: 1, jitter: 0 }' });
    const topology = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wal-fanout-dlq-')), 'wal.yaml');
    fs.writeFileSync(topology, env.yaml);
    const ns = ['--namespace', env.namespace.name, '--topology', topology];
    const mutations = randomMutations(60, ['ledger'], 40, seeded(5));
    const chunkCount = expectedChunkCount(mutations, 10, env.namespace.partitions);

    await pg.halt();
    try {
      expect((await writer.writeToLog({ namespace: env.namespace.name, id: 'txn-dlq', mutations })).durable).toBe('true');
      await waitForTxn(env.kafka, env.namespace, 'txn-dlq', (s) => s.failed === chunkCount, 30_000);
    } finally {
      await pg.resume();
    }
    const labels = { namespace: env.namespace.name };
    // One failed transaction, however many of its chunks were dead-lettered; no longer pending.
    expect(await counter('wal_txn_failed_total', labels)).toBe(1);
    expect(await counter('wal_txn_pending', labels)).toBe(0);
    expect(await counter('wal_txn_completed_total', labels)).toBe(0);

    const shown = await runWal('txn', ['status', 'txn-dlq', ...ns]);
    expect(shown.code).toBe(3);
    expect(shown.stdout).toContain(`txn txn-dlq: FAILED  0/${chunkCount} chunks applied, ${chunkCount} failed, 0 pending`);
    expect(shown.stdout).toMatch(/dead-lettered after 2 attempt\(s\): .*ECONNREFUSED/);

    const letters = await readDeadLetters(env.kafka, env.namespace.topics.dlq, { ids: ['txn-dlq'] });
    expect(letters).toHaveLength(chunkCount);
    for (const letter of letters) {
      expect(letter.headers[DLQ_HEADERS.kind]).toBe('exhausted');
      expect(letter.headers[DLQ_HEADERS.attempts]).toBe('2');
      expect(letter.headers[DLQ_HEADERS.target]).toBe('ledger');
      expect(letter.headers[REDRIVE_HEADERS.chunkCount]).toBe(String(chunkCount));
    }
    expect(new Set(letters.map((l) => l.headers[REDRIVE_HEADERS.chunkIndex]))).toEqual(new Set(Array.from({ length: chunkCount }, (_, i) => String(i))));
    expect(await tableState(pg.url, 'dlq_ledger')).toEqual(new Map());

    const replay = await runWal('dlq', ['replay', '--id', 'txn-dlq', ...ns]);
    expect(replay.stdout).toContain(`replayed ${chunkCount} record(s)`);
    expect(replay.code).toBe(0);

    const done = await runWal('txn', ['status', 'txn-dlq', '--wait', '30s', '--json', ...ns]);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ txnId: 'txn-dlq', status: 'complete', applied: chunkCount, failed: 0, failures: [] });
    expect(await tableState(pg.url, 'dlq_ledger')).toEqual(liveEntries(expectedState(mutations), 'ledger'));
    expect(await counter('wal_txn_completed_total', labels)).toBe(1);
    expect(await counter('wal_txn_failed_total', labels)).toBe(1);
    expect(await counter('wal_txn_pending', labels)).toBe(0);

    const unknown = await runWal('txn', ['status', 'no-such-txn', ...ns]);
    expect([unknown.code, unknown.stdout]).toEqual([4, expect.stringContaining('txn no-such-txn: UNKNOWN')]);
  }, 60_000);

  it('with the DLQ disabled, keeps chunks whose retries ran out and applies them once PostgreSQL is back: none lost', async () => {
    const { env, writer } = await start({
      tables: { ledger: 'kept_ledger' },
      maxRetries: 1,
      chunkSize: 10,
      backoff: '{ initialMs: 100, maxMs: 1s, multiplier: 1, jitter: 0 }',
      extra: '    dlq: { enabled: false }',
    });
    const labels = { namespace: env.namespace.name, action: 'retained' };
    const mutations = randomMutations(40, ['ledger'], 30, seeded(7));

    await pg.halt();
    try {
      expect((await writer.writeToLog({ namespace: env.namespace.name, id: 'txn-kept', mutations })).durable).toBe('true');
      // Retries run out after 2 attempts; from then on each held head is tried again every maxMs.
      const deadline = Date.now() + 20_000;
      while ((await counter('wal_dlq_disabled_total', labels)) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await counter('wal_dlq_disabled_total', labels)).toBeGreaterThanOrEqual(2);
      const status = await waitForTxn(env.kafka, env.namespace, 'txn-kept', () => true, 10_000);
      expect([status.status, status.failed]).toEqual(['pending', 0]);
    } finally {
      await pg.resume();
    }
    await waitForTxn(env.kafka, env.namespace, 'txn-kept', complete, 30_000);
    expect(await tableState(pg.url, 'kept_ledger')).toEqual(liveEntries(expectedState(mutations), 'ledger'));
    expect(await counter('wal_dlq_disabled_total', { namespace: env.namespace.name, action: 'dropped' })).toBe(0);
  }, 60_000);
});
