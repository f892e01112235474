import { Client } from 'pg';
import { createWalWriter } from '../../src/api';
import { namespaceTopology } from '../../src/personas/namespace-topology';
import type { NamespaceRunner } from '../../src/engine';
import { collect, delayedQueueNamespace, header, startQueue, stopCollectors } from '../support/delayed-queue';
import { complete, waitForTxn } from '../support/mutations';
import { startPostgres } from '../support/postgres';

jest.setTimeout(120_000);

describe('a namespace runs the delayed queue and the fan-out together', () => {
  let pg: Awaited<ReturnType<typeof startPostgres>>;
  let runner: NamespaceRunner | undefined;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await stopCollectors();
    await runner?.stop();
    await pg.stop();
  });

  it('delays a multi-key request, then applies its mutations; plain payloads still go to their target', async () => {
    const table = `orders_${Date.now().toString(36)}`;
    const { config, namespace, out, kafka } = await delayedQueueNamespace({
      targets: `      orders: { type: postgres, connectionString: "${pg.url}", table: ${table} }`,
    });
    runner = (await startQueue(config, namespace, { topology: namespaceTopology(namespace, { clusters: config.clusters }) })).runner;
    const writer = createWalWriter({ config });
    const delayMs = 3000;
    const written = Date.now();
    const txn = await writer.writeToLog({
      namespace: namespace.name,
      id: 'txn-delayed',
      lifecycle: { delayMs },
      mutations: [
        { target: 'orders', key: 'a', op: 'PUT', value: { total: 1 }, sequence: 1 },
        { target: 'orders', key: 'b', op: 'PUT', value: { total: 2 }, sequence: 1 },
        { target: 'orders', key: 'a', op: 'PUT', value: { total: 3 }, sequence: 2 },
      ],
    });
    expect(txn.durable).toBe('true');
    expect((await writer.writeToLog({ namespace: namespace.name, id: 'plain', payload: 'hello' })).durable).toBe('true');
    await writer.close();

    const delivered = await collect(kafka, out);
    await delivered.waitFor(1, 30_000);
    expect(header(delivered.messages[0], 'wal-id')).toBe('plain');
    await delivered.stop();

    const client = new Client({ connectionString: pg.url });
    await client.connect();
    const rows = async (): Promise<number> =>
      Number((await client.query(`SELECT count(*) AS n FROM ${table} WHERE NOT wal_deleted`).catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n);
    // Not before its delay: the table does not even exist until the first chunk is applied.
    while (Date.now() - written < delayMs - 500) {
      expect(await rows()).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
    }
    const status = await waitForTxn(kafka, namespace, 'txn-delayed', complete, 30_000);
    expect(status.status).toBe('complete');
    const result = await client.query(`SELECT key, value FROM ${table} WHERE NOT wal_deleted ORDER BY key`);
    await client.end();
    expect(result.rows.map((r: { key: string; value: unknown }) => [r.key, JSON.parse(Buffer.isBuffer(r.value) ? r.value.toString() : JSON.stringify(r.value))])).toEqual([
      ['a', { total: 3 }],
      ['b', { total: 2 }],
    ]);
  });
});
