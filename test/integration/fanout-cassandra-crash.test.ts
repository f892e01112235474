import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'cassandra-driver';
import { createWalWriter, type WalWriter } from '../../src/api';
import { cassandraClient, cassandraRows, testCassandra } from '../support/cassandra';
import { complete, expectedChunkCount, expectedState, liveEntries, mutationNamespace, randomMutations, seeded, waitForTxn, type MutationNamespace } from '../support/mutations';
import { kill9, startFixture, terminate, type FixtureProcess } from '../support/runtime-fixtures/child';

const TABLES = { orders: 'crash_orders', users: 'crash_users' };

describe('fan-out into Cassandra, instance killed with SIGKILL in the middle of applying', () => {
  const keyspace = `wal_crash_${Date.now().toString(36)}`;
  let cql: Client;
  let env: MutationNamespace;
  let writer: WalWriter;
  let instance: FixtureProcess | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-cassandra-crash-'));

  beforeAll(async () => {
    const node = testCassandra();
    cql = await cassandraClient();
    env = await mutationNamespace({
      tables: {},
      otherTargets: Object.fromEntries(
        Object.entries(TABLES).map(([t, table]) => [t, `{ type: cassandra, contactPoints: "${node.contactPoint}", localDataCenter: ${node.localDataCenter}, keyspace: ${keyspace}, table: ${table} }`]),
      ),
      chunkSize: 10,
    });
    fs.writeFileSync(path.join(dir, 'wal.yaml'), env.yaml);
    writer = createWalWriter({ config: env.config, timeoutMs: 20_000 });
    await writer.connect();
    instance = await launch();
  }, 90_000);

  afterAll(async () => {
    if (instance) await terminate(instance).catch(() => instance!.child.kill('SIGKILL'));
    await writer?.close();
    await cql?.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function launch(): Promise<FixtureProcess> {
    return startFixture('fanout-instance', { configFile: path.join(dir, 'wal.yaml'), namespace: env.namespace.name, stateDir: path.join(dir, 'state'), instanceId: 'cass-crash-1' }, 45_000);
  }

  async function liveRowCount(): Promise<number> {
    let n = 0;
    for (const table of Object.values(TABLES)) n += (await cassandraRows(cql, keyspace, table)).size;
    return n;
  }

  it('after a restart the rows equal the expected rows exactly and every transaction completes', async () => {
    const random = seeded(77);
    const txns = ['cass-crash-a', 'cass-crash-b'].map((id, t) => ({ id, mutations: randomMutations(5000, Object.keys(TABLES), 1500, random, 1 + t * 5000) }));
    const expected = expectedState(txns.flatMap((t) => t.mutations));
    const liveRows = Object.keys(TABLES).reduce((n, t) => n + liveEntries(expected, t).size, 0);

    const results = await Promise.all(txns.map((t) => writer.writeToLog({ namespace: env.namespace.name, id: t.id, mutations: t.mutations })));
    expect(results.map((r) => r.durable)).toEqual(['true', 'true']);

    // Kill as soon as some, but not all, rows are in.
    const deadline = Date.now() + 20_000;
    let rowsAtKill = 0;
    for (;;) {
      rowsAtKill = await liveRowCount();
      if (rowsAtKill > 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await kill9(instance!);
    instance = undefined;
    expect(rowsAtKill).toBeGreaterThan(0);
    expect(rowsAtKill).toBeLessThan(liveRows);

    instance = await launch();
    const statuses = await Promise.all(txns.map((t) => waitForTxn(env.kafka, env.namespace, t.id, complete, 45_000)));

    for (const [target, table] of Object.entries(TABLES)) expect(await cassandraRows(cql, keyspace, table)).toEqual(liveEntries(expected, target));
    txns.forEach((t, i) => {
      const chunkCount = expectedChunkCount(t.mutations, 10, env.namespace.partitions);
      expect(statuses[i]).toMatchObject({ status: 'complete', chunkCount, applied: chunkCount, failed: 0 });
    });
    expect(await terminate(instance)).toBe(0);
    instance = undefined;
  }, 90_000);
});
