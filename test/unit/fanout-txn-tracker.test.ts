import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NamespaceConfig } from '../../src/namespaces/types';
import { metricsRegistry } from '../../src/observability/metrics';
import { encodeTxnEvent, type TxnEvent } from '../../src/mutations/events';
import { TxnTracker } from '../../src/mutations/txn-tracker';
import type { ProcessorContext, WalRecord } from '../../src/engine/api';
import { LevelStore } from '../../src/state';

const ns = { name: 'txn-tracker-unit' } as NamespaceConfig;

async function gauge(name: string): Promise<number> {
  const { values } = await metricsRegistry.getSingleMetric(name)!.get();
  return values.filter((v) => v.labels.namespace === ns.name).reduce((n, v) => n + v.value, 0);
}

function record(event: TxnEvent, offset: number): WalRecord {
  return { key: Buffer.from(event.txnId), value: encodeTxnEvent(event), headers: {}, timestamp: event.at, topic: 'wal.x.completions', partition: 0, offset: String(offset) };
}

/** The slice of the context a tracker uses: its store, and a schedule call (not run here). */
function contextOver(store: LevelStore): ProcessorContext {
  return { getStore: () => store, schedule: () => undefined } as unknown as ProcessorContext;
}

const begin = (txnId: string): TxnEvent => ({ kind: 'begin', txnId, chunkCount: 2, targets: { db: 2 }, writeTime: 1000, at: 1001 });
const applied = (txnId: string, chunkIndex: number): TxnEvent => ({ kind: 'applied', txnId, target: 'db', chunkIndex, chunkCount: 2, attempts: 1, at: 1100 });

describe('transaction tracker metrics', () => {
  let dir: string;
  let store: LevelStore;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-txn-tracker-'));
    store = await LevelStore.open('txns', dir);
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('counts pending transactions it finds in its restored store, so the gauge survives a restart', async () => {
    const first = new TxnTracker({ namespace: ns });
    await first.init(contextOver(store));
    await first.process(record(begin('a'), 0));
    await first.process(record(begin('b'), 1));
    await first.process(record(applied('b', 0), 2));
    await first.flush();
    expect(await gauge('wal_txn_pending')).toBe(2);
    first.close();
    expect(await gauge('wal_txn_pending')).toBe(0);

    // The next owner of the partition opens the same store: both are still pending.
    const completedBefore = await gauge('wal_txn_completed_total');
    const second = new TxnTracker({ namespace: ns });
    await second.init(contextOver(store));
    expect(await gauge('wal_txn_pending')).toBe(2);
    await second.process(record(applied('b', 1), 3));
    await second.flush();
    expect(await gauge('wal_txn_pending')).toBe(1);
    expect(await gauge('wal_txn_completed_total')).toBe(completedBefore + 1);
    second.close();
    expect(await gauge('wal_txn_pending')).toBe(0);
  });
});
