import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWalWriter, type WalWriter } from '../../src/api';
import {
  complete,
  expectedChunkCount,
  expectedState,
  liveEntries,
  mutationNamespace,
  randomMutations,
  redisState,
  seeded,
  startTargetServers,
  stopTargetServers,
  tableState,
  waitForTxn,
  type MutationNamespace,
} from '../support/mutations';
import type { PostgresServer } from '../support/postgres';
import type { RedisServer } from '../support/redis';
import { kill9, startFixture, terminate, type FixtureProcess } from '../support/runtime-fixtures/child';

const TABLES = { orders: 'crash_orders', users: 'crash_users', items: 'crash_items' };
const TARGETS = [...Object.keys(TABLES), 'cache'];

describe('fan-out instance killed with SIGKILL in the middle of applying', () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  let env: MutationNamespace;
  let writer: WalWriter;
  let instance: FixtureProcess | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-fanout-crash-'));

  beforeAll(async () => {
    ({ pg, redis } = await startTargetServers());
    env = await mutationNamespace({ pgUrl: pg.url, redisUrl: redis.url, tables: TABLES, redisTarget: 'cache', chunkSize: 10 });
    fs.writeFileSync(path.join(dir, 'wal.yaml'), env.yaml);
    writer = createWalWriter({ config: env.config, timeoutMs: 20_000 });
    await writer.connect();
    instance = await launch();
  }, 90_000);

  afterAll(async () => {
    if (instance) await terminate(instance).catch(() => instance!.child.kill('SIGKILL'));
    await writer?.close();
    await stopTargetServers(pg, redis);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function launch(): Promise<FixtureProcess> {
    return startFixture('fanout-instance', { configFile: path.join(dir, 'wal.yaml'), namespace: env.namespace.name, stateDir: path.join(dir, 'state'), instanceId: 'crash-1' }, 45_000);
  }

  it('after a restart the rows equal the expected rows exactly and every transaction completes', async () => {
    const random = seeded(99);
    const txns = ['crash-a', 'crash-b'].map((id, t) => ({ id, mutations: randomMutations(5000, TARGETS, 1500, random, 1 + t * 5000) }));
    const expected = expectedState(txns.flatMap((t) => t.mutations));
    const liveRows = Object.keys(TABLES).reduce((n, t) => n + liveEntries(expected, t).size, 0);

    const results = await Promise.all(txns.map((t) => writer.writeToLog({ namespace: env.namespace.name, id: t.id, mutations: t.mutations })));
    expect(results.map((r) => r.durable)).toEqual(['true', 'true']);

    // Kill as soon as some, but not all, rows are in.
    const deadline = Date.now() + 20_000;
    let rowsAtKill = 0;
    for (;;) {
      rowsAtKill = (await Promise.all(Object.values(TABLES).map((t) => tableState(pg.url, t)))).reduce((n, m) => n + m.size, 0);
      if (rowsAtKill > 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await kill9(instance!);
    instance = undefined;
    expect(rowsAtKill).toBeGreaterThan(0);
    expect(rowsAtKill).toBeLessThan(liveRows);

    instance = await launch();
    const statuses = await Promise.all(txns.map((t) => waitForTxn(env.kafka, env.namespace, t.id, complete, 45_000)));

    for (const [target, table] of Object.entries(TABLES)) expect(await tableState(pg.url, table)).toEqual(liveEntries(expected, target));
    expect(await redisState(redis.url, env.redisPrefix)).toEqual(liveEntries(expected, 'cache'));
    txns.forEach((t, i) => {
      const chunkCount = expectedChunkCount(t.mutations, 10, env.namespace.partitions);
      // Replayed chunks and outcomes are counted once.
      expect(statuses[i]).toMatchObject({ status: 'complete', chunkCount, applied: chunkCount, failed: 0 });
    });
    expect(await terminate(instance)).toBe(0);
    instance = undefined;
  }, 60_000);
});
