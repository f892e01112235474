import type { Client } from 'cassandra-driver';
import type { WalWriter } from '../../src/api';
import type { NamespaceRunner } from '../../src/engine';
import { readDeadLetters } from '../../src/dlq/dead-letters';
import { createTarget, Delivery, MutationDelivery, Target, TargetMutation } from '../../src/targets';
import { DLQ_HEADERS } from '../../src/wire/headers';
import { cassandraClient, cassandraRows, cassandraTargetConfig, testCassandra } from '../support/cassandra';
import { complete, expectedChunkCount, expectedState, liveEntries, randomMutations, seeded, startMutationNamespace, waitForTxn, type MutationNamespace } from '../support/mutations';
import { orTimeout } from '../support/timing';

const put = (key: string, value: string, sequence: number): TargetMutation => ({ key, op: 'PUT', value: Buffer.from(value), sequence });
const del = (key: string, sequence: number): TargetMutation => ({ key, op: 'DELETE', value: null, sequence });
const chunk = (mutations: TargetMutation[], chunkIndex = 0): MutationDelivery => ({ txnId: 'txn-1', chunkIndex, mutations });

/** A keyspace no other test (or run) uses: CQL names are lower case, at most 48 characters. */
const uniqueKeyspace = (): string => `wal_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

/** Freezes the shared Cassandra JVM (SIGSTOP): connections stay open, nothing answers, like a hung node. */
async function whileCassandraFrozen<T>(fn: () => Promise<T>): Promise<T> {
  const { pid } = testCassandra();
  process.kill(pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

describe('Cassandra target on a real node', () => {
  const keyspace = uniqueKeyspace();
  let cql: Client;
  let target: Target;
  let table: string;
  let tableNo = 0;

  beforeAll(async () => {
    cql = await cassandraClient();
  });
  afterAll(async () => {
    await cql?.shutdown();
  });
  beforeEach(() => {
    table = `items_${++tableNo}`;
    target = createTarget('db', cassandraTargetConfig(keyspace, table, { timeoutMs: 2000 }), {});
  });
  afterEach(async () => {
    await target.close();
  });

  const rows = (): Promise<Map<string, string>> => cassandraRows(cql, keyspace, table);

  it('creates the keyspace and table, applies puts and deletes, and writes each cell at its sequence', async () => {
    expect(await target.applyMutations!(chunk([put('a', 'A1', 1), put('b', 'B1', 1), put('c', 'C1', 1)]))).toEqual({ ok: true });
    expect(await target.applyMutations!(chunk([put('a', 'A2', 2), del('b', 2), put('d', 'D2', 2)], 1))).toEqual({ ok: true });

    expect(await rows()).toEqual(new Map([['a', 'A2'], ['c', 'C1'], ['d', 'D2']]));
    const written = await cql.execute(`SELECT key, WRITETIME(value) AS ts FROM ${keyspace}.${table}`);
    expect(new Map(written.rows.map((r) => [String(r.key), String(r.ts)]))).toEqual(new Map([['a', '2'], ['c', '1'], ['d', '2']]));
  });

  it('ends with the newest values whatever order the sequences arrive in', async () => {
    const mutations = Array.from({ length: 400 }, (_, i) => (i % 7 === 3 ? del(`k${i % 40}`, i + 1) : put(`k${i % 40}`, `v${i + 1}`, i + 1)));
    const shuffled = [...mutations].sort(() => Math.random() - 0.5);
    for (let i = 0; i < shuffled.length; i += 25) {
      expect(await target.applyMutations!(chunk(shuffled.slice(i, i + 25), i / 25))).toEqual({ ok: true });
    }

    const newest = new Map<string, TargetMutation>();
    for (const m of mutations) newest.set(m.key, m);
    const expected = new Map([...newest].filter(([, m]) => m.op === 'PUT').map(([k, m]) => [k, m.value!.toString()]));
    expect(await rows()).toEqual(expected);
  });

  it('keeps a delete at sequence 5 when a put at sequence 4 arrives late; a newer put brings the key back', async () => {
    await target.applyMutations!(chunk([put('k', 'v3', 3)]));
    await target.applyMutations!(chunk([del('k', 5)]));

    expect(await target.applyMutations!(chunk([put('k', 'v4', 4)]))).toEqual({ ok: true });
    expect(await rows()).toEqual(new Map());

    await target.applyMutations!(chunk([put('k', 'v6', 6)]));
    expect(await rows()).toEqual(new Map([['k', 'v6']]));
  });

  it('is idempotent: a replayed chunk, or an older one applied late, changes nothing', async () => {
    const first = chunk([put('a', 'A', 3), del('b', 4), put('c', 'C', 5), put('a', 'A-newer', 6)]);
    await target.applyMutations!(chunk([put('b', 'B', 1)]));
    await target.applyMutations!(first);
    const once = await rows();

    expect(await target.applyMutations!(first)).toEqual({ ok: true });
    expect(await target.applyMutations!(chunk([put('b', 'B', 1), put('a', 'A', 3)]))).toEqual({ ok: true });

    expect(await rows()).toEqual(once);
    expect(once).toEqual(new Map([['a', 'A-newer'], ['c', 'C']]));
  });

  it('writes delivered payloads at the record key (else the id) stamped with the write time; a redelivery changes nothing', async () => {
    const d = (id: string, key: string | null, payload: string, writeTime: number): Delivery => ({
      id,
      key: key === null ? null : Buffer.from(key),
      payload: Buffer.from(payload),
      headers: {},
      contentType: 'text/plain',
      attempt: 1,
      writeTime,
    });
    expect(await target.deliver([d('id-1', 'user-1', 'one', 1_000), d('id-2', null, 'two', 2_000)])).toEqual([{ ok: true }, { ok: true }]);
    expect(await target.deliver([d('id-3', 'user-1', 'three', 3_000)])).toEqual([{ ok: true }]);
    // id-1 again (a retry after a lost acknowledgement): its older write time cannot win.
    expect(await target.deliver([{ ...d('id-1', 'user-1', 'one', 1_000), attempt: 2 }])).toEqual([{ ok: true }]);

    expect(await rows()).toEqual(new Map([['user-1', 'three'], ['id-2', 'two']]));
  });

  it('refuses a table of the wrong shape permanently, naming the column', async () => {
    await target.applyMutations!(chunk([put('x', 'X', 1)])); // the keyspace exists
    await cql.execute(`CREATE TABLE ${keyspace}.${table}_int (key text PRIMARY KEY, value int)`);
    const wrong = createTarget('db', cassandraTargetConfig(keyspace, `${table}_int`), {});
    try {
      const result = await wrong.applyMutations!(chunk([put('a', 'A', 1)]));

      expect(result).toEqual({ ok: false, retriable: false, reason: expect.stringContaining(`table ${keyspace}.${table}_int: value column "value" is int; expected blob or text`) });
      expect(await cassandraRows(cql, keyspace, `${table}_int`)).toEqual(new Map());
    } finally {
      await wrong.close();
    }
  });

  it('answers retriable while the node is frozen, and applies once it answers again', async () => {
    await target.applyMutations!(chunk([put('a', 'A1', 1)]));

    const during = await whileCassandraFrozen(() => orTimeout(target.applyMutations!(chunk([put('a', 'A2', 2)])), 20_000, 'no answer within 20 s'));

    expect(during).toMatchObject({ ok: false, retriable: true });
    const after = await orTimeout(target.applyMutations!(chunk([put('a', 'A2', 2)])), 20_000, 'no answer within 20 s');
    expect(after).toEqual({ ok: true });
    expect(await rows()).toEqual(new Map([['a', 'A2']]));
  }, 60_000);
});

describe('fan-out into Cassandra (the multi-table persona)', () => {
  const keyspace = uniqueKeyspace();
  let cql: Client;
  const runners: NamespaceRunner[] = [];
  const writers: WalWriter[] = [];

  beforeAll(async () => {
    cql = await cassandraClient();
  });
  afterAll(async () => {
    await Promise.allSettled(runners.map((r) => r.stop()));
    await Promise.allSettled(writers.map((w) => w.close()));
    await cql?.shutdown();
  });

  /** A namespace whose targets are Cassandra tables of the shared node (target name → table). */
  async function start(tables: Record<string, string>, options: { maxRetries?: number; chunkSize?: number } = {}): Promise<{ env: MutationNamespace; writer: WalWriter }> {
    const node = testCassandra();
    const otherTargets = Object.fromEntries(
      Object.entries(tables).map(([t, table]) => [
        t,
        `{ type: cassandra, contactPoints: "${node.contactPoint}", localDataCenter: ${node.localDataCenter}, keyspace: ${keyspace}, table: ${table}, timeoutMs: 2s }`,
      ]),
    );
    const { env, writer, runner } = await startMutationNamespace({
      tables: {},
      otherTargets,
      chunkSize: options.chunkSize ?? 100,
      maxRetries: options.maxRetries ?? 50,
      backoff: '{ initialMs: 200, maxMs: 1s, multiplier: 2, jitter: 0 }',
    });
    writers.push(writer);
    runners.push(runner);
    return { env, writer };
  }

  it('applies a 10k-mutation request over two tables: every row equals the model, txn complete', async () => {
    const { env, writer } = await start({ orders: 'orders', users: 'users' });
    const mutations = randomMutations(10_000, ['orders', 'users'], 1500, seeded(20));

    expect((await writer.writeToLog({ namespace: env.namespace.name, id: 'txn-10k', mutations })).durable).toBe('true');
    const status = await waitForTxn(env.kafka, env.namespace, 'txn-10k', complete, 90_000);

    expect(status.applied).toBe(expectedChunkCount(mutations, 100, env.namespace.partitions));
    const expected = expectedState(mutations);
    expect(await cassandraRows(cql, keyspace, 'orders')).toEqual(liveEntries(expected, 'orders'));
    expect(await cassandraRows(cql, keyspace, 'users')).toEqual(liveEntries(expected, 'users'));
  }, 120_000);

  it('holds chunks while Cassandra does not answer and applies them all once it does', async () => {
    const { env, writer } = await start({ held: 'held' }, { chunkSize: 20 });
    const mutations = randomMutations(600, ['held'], 100, seeded(21));

    const during = await whileCassandraFrozen(async () => {
      expect((await writer.writeToLog({ namespace: env.namespace.name, id: 'txn-held', mutations })).durable).toBe('true');
      // Long enough for every partition's head chunk to time out (2 s) and be retried at least once.
      await new Promise((r) => setTimeout(r, 6000));
      return waitForTxn(env.kafka, env.namespace, 'txn-held', () => true, 10_000);
    });
    expect(during.status).toBe('pending');
    expect(during.targets.held?.applied ?? 0).toBe(0);

    const status = await waitForTxn(env.kafka, env.namespace, 'txn-held', complete, 60_000);
    expect(status.targets.held.retries).toBeGreaterThan(0);
    expect(await cassandraRows(cql, keyspace, 'held')).toEqual(liveEntries(expectedState(mutations), 'held'));
  }, 120_000);

  it('dead-letters a chunk the table cannot take, with the reason, without retrying it', async () => {
    await cql.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    await cql.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.wrong (key text PRIMARY KEY, value int)`);
    const { env, writer } = await start({ wrong: 'wrong' });
    const mutations = randomMutations(10, ['wrong'], 5, seeded(22));

    expect((await writer.writeToLog({ namespace: env.namespace.name, id: 'txn-wrong', mutations })).durable).toBe('true');
    const status = await waitForTxn(env.kafka, env.namespace, 'txn-wrong', (s) => s.failed > 0 && s.failed + s.applied === expectedChunkCount(mutations, 100, env.namespace.partitions), 30_000);

    expect(status.applied).toBe(0);
    const letters = await readDeadLetters(env.kafka, env.namespace.topics.dlq, { ids: ['txn-wrong'] });
    expect(letters.length).toBe(status.failed);
    for (const letter of letters) {
      expect(letter.headers[DLQ_HEADERS.kind]).toBe('permanent');
      expect(letter.headers[DLQ_HEADERS.attempts]).toBe('1');
      expect(letter.headers[DLQ_HEADERS.target]).toBe('wrong');
      expect(letter.headers[DLQ_HEADERS.reason]).toContain('value column "value" is int; expected blob or text');
    }
  }, 60_000);
});
