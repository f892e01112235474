import { Client } from 'pg';
import type { PostgresTargetConfig } from '../../src/namespaces/types';
import { createTarget, Delivery, MutationDelivery, Target, TargetMutation } from '../../src/targets';
import { PostgresServer, startPostgres } from '../support/postgres';

const put = (key: string, value: string, sequence: number): TargetMutation => ({ key, op: 'PUT', value: Buffer.from(value), sequence });
const del = (key: string, sequence: number): TargetMutation => ({ key, op: 'DELETE', value: null, sequence });
const chunk = (mutations: TargetMutation[], chunkIndex = 0): MutationDelivery => ({ txnId: 'txn-1', chunkIndex, mutations });

interface Row { k: string; v: string | null; seq: string; wal_deleted: boolean }

describe('PostgreSQL target', () => {
  let pg: PostgresServer;
  let sql: Client;
  let target: Target;
  let table: string;
  let tableNo = 0;

  beforeAll(async () => {
    pg = await startPostgres();
    sql = new Client({ connectionString: pg.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await pg?.stop();
  });
  beforeEach(() => {
    table = `items_${++tableNo}`;
    target = postgresTarget(table);
  });
  afterEach(async () => {
    await target.close();
  });

  function postgresTarget(tableName: string): Target {
    const config: PostgresTargetConfig = { type: 'postgres', connectionString: pg.url, table: tableName, keyColumn: 'k', valueColumn: 'v', sequenceColumn: 'seq' };
    return createTarget('db', config, {});
  }

  async function rows(): Promise<Row[]> {
    const result = await sql.query<Row>(`SELECT k, convert_from(v, 'UTF8') AS v, seq::text AS seq, wal_deleted FROM ${table} ORDER BY k`);
    return result.rows;
  }

  it('creates the table and applies a chunk of puts and deletes', async () => {
    expect(await target.applyMutations!(chunk([put('a', 'A1', 1), put('b', 'B1', 1), put('c', 'C1', 1)]))).toEqual({ ok: true });
    expect(await target.applyMutations!(chunk([put('a', 'A2', 2), del('b', 2), put('d', 'D2', 2)], 1))).toEqual({ ok: true });

    expect(await rows()).toEqual([
      { k: 'a', v: 'A2', seq: '2', wal_deleted: false },
      { k: 'b', v: null, seq: '2', wal_deleted: true },
      { k: 'c', v: 'C1', seq: '1', wal_deleted: false },
      { k: 'd', v: 'D2', seq: '2', wal_deleted: false },
    ]);
  });

  it('applies a chunk atomically: one bad value and none of the chunk is written (permanent failure)', async () => {
    await sql.query(`CREATE TABLE ${table} (k text PRIMARY KEY, v jsonb, seq bigint NOT NULL)`);

    const result = await target.applyMutations!(chunk([put('good', '{"n":1}', 1), put('bad', 'not json', 1)]));

    expect(result).toEqual({ ok: false, retriable: false, reason: expect.stringContaining('22P02') });
    expect((await sql.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(0);
    expect(await target.applyMutations!(chunk([put('good', '{"n":1}', 1)]))).toEqual({ ok: true });
    expect((await sql.query(`SELECT v FROM ${table}`)).rows).toEqual([{ v: { n: 1 } }]);
  });

  it('stores values in text and json columns as UTF-8 text, deletes as NULL, and sequences past 2^32 exactly', async () => {
    await sql.query(`CREATE TABLE ${table} (k text PRIMARY KEY, v text, seq bigint NOT NULL)`);
    const big = 2 ** 40 + 7;

    expect(await target.applyMutations!(chunk([put('ü-key', 'grüße ✓', big), put('empty', '', 1), del('gone', 2)]))).toEqual({ ok: true });

    const stored = await sql.query(`SELECT k, v, seq::text AS seq, wal_deleted FROM ${table} ORDER BY k`);
    expect(stored.rows).toEqual([
      { k: 'empty', v: '', seq: '1', wal_deleted: false },
      { k: 'gone', v: null, seq: '2', wal_deleted: true },
      { k: 'ü-key', v: 'grüße ✓', seq: String(big), wal_deleted: false },
    ]);
    await sql.query(`CREATE TABLE ${table}_json (k text PRIMARY KEY, v json, seq bigint NOT NULL)`);
    const json = postgresTarget(`${table}_json`);
    try {
      expect(await json.applyMutations!(chunk([put('doc', '{"a": [1, "é"]}', 3)]))).toEqual({ ok: true });
    } finally {
      await json.close();
    }
    expect((await sql.query(`SELECT v FROM ${table}_json`)).rows).toEqual([{ v: { a: [1, 'é'] } }]);
  });

  it('lets the targets of several tasks create one new table at once, none of them failing', async () => {
    const targets = Array.from({ length: 8 }, () => postgresTarget(table));
    try {
      const results = await Promise.all(targets.map((t, i) => t.applyMutations!(chunk([put(`k${i}`, `v${i}`, 1)], i))));
      expect(results).toEqual(targets.map(() => ({ ok: true })));
    } finally {
      await Promise.all(targets.map((t) => t.close()));
    }
    expect((await rows()).map((r) => r.k)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
  });

  it('is idempotent: applying the same chunk twice leaves identical rows', async () => {
    const same = chunk([put('a', 'A', 3), del('b', 4), put('c', 'C', 5), put('a', 'A-newer', 6)]);
    await target.applyMutations!(same);
    const once = await rows();

    expect(await target.applyMutations!(same)).toEqual({ ok: true });

    expect(await rows()).toEqual(once);
    expect(once.find((r) => r.k === 'a')).toEqual({ k: 'a', v: 'A-newer', seq: '6', wal_deleted: false });
  });

  it('never lets an older sequence overwrite a newer one', async () => {
    await target.applyMutations!(chunk([put('k', 'new', 5)]));

    expect(await target.applyMutations!(chunk([put('k', 'old', 3)]))).toEqual({ ok: true });

    expect(await rows()).toEqual([{ k: 'k', v: 'new', seq: '5', wal_deleted: false }]);
  });

  it('keeps a delete at sequence 5 when a put at sequence 4 arrives late', async () => {
    await target.applyMutations!(chunk([put('k', 'v3', 3)]));
    await target.applyMutations!(chunk([del('k', 5)]));

    await target.applyMutations!(chunk([put('k', 'v4', 4)]));

    expect(await rows()).toEqual([{ k: 'k', v: null, seq: '5', wal_deleted: true }]);
    // A newer put does bring the key back.
    await target.applyMutations!(chunk([put('k', 'v6', 6)]));
    expect(await rows()).toEqual([{ k: 'k', v: 'v6', seq: '6', wal_deleted: false }]);
  });

  it('upserts delivered payloads by delivery id; a redelivery changes nothing', async () => {
    const d = (id: string, payload: string): Delivery => ({ id, key: null, payload: Buffer.from(payload), headers: {}, contentType: 'text/plain', attempt: 1 });

    expect(await target.deliver([d('id-1', 'one'), d('id-2', 'two')])).toEqual([{ ok: true }, { ok: true }]);
    expect(await target.deliver([d('id-1', 'one')])).toEqual([{ ok: true }]);

    expect(await rows()).toEqual([
      { k: 'id-1', v: 'one', seq: '0', wal_deleted: false },
      { k: 'id-2', v: 'two', seq: '0', wal_deleted: false },
    ]);
  });

  it('answers retriable while PostgreSQL is down, and applies once it is back', async () => {
    await target.applyMutations!(chunk([put('a', 'A1', 1)]));
    await sql.end();
    await pg.halt();
    try {
      const during = await target.applyMutations!(chunk([put('a', 'A2', 2)]));
      expect(during).toMatchObject({ ok: false, retriable: true });
    } finally {
      await pg.resume();
      sql = new Client({ connectionString: pg.url });
      await sql.connect();
    }

    expect(await target.applyMutations!(chunk([put('a', 'A2', 2)]))).toEqual({ ok: true });
    expect(await rows()).toEqual([{ k: 'a', v: 'A2', seq: '2', wal_deleted: false }]);
  });
});
