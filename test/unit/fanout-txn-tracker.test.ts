import type { NamespaceConfig } from '../../src/namespaces/types';
import { metricsRegistry } from '../../src/observability/metrics';
import { encodeTxnEvent, type TxnEvent } from '../../src/mutations/events';
import { TxnTracker } from '../../src/mutations/txn-tracker';
import { TopologyBuilder, TopologyTestDriver, type TestInputRecord } from '../../src/engine';
import { TXN_STORE } from '../../src/mutations/names';

const ns = { name: 'txn-tracker-unit' } as NamespaceConfig;

async function gauge(name: string): Promise<number> {
  const { values } = await metricsRegistry.getSingleMetric(name)!.get();
  return values.filter((v) => v.labels.namespace === ns.name).reduce((n, v) => n + v.value, 0);
}

const COMPLETIONS = 'wal.x.completions';

function record(event: TxnEvent): TestInputRecord {
  return { key: event.txnId, value: encodeTxnEvent(event), timestamp: event.at };
}

/** completions → tracker, its store kept in memory by the driver (and across a reopen). */
function trackerDriver(): Promise<TopologyTestDriver> {
  const topology = new TopologyBuilder()
    .addSource('completions', COMPLETIONS)
    .addProcessor('tracker', () => new TxnTracker({ namespace: ns }), 'completions')
    .addStore(TXN_STORE, { changelog: true }, 'tracker')
    .build();
  return TopologyTestDriver.create(topology, { namespace: ns.name });
}

const begin = (txnId: string): TxnEvent => ({ kind: 'begin', txnId, chunkCount: 2, targets: { db: 2 }, writeTime: 1000, at: 1001 });
const applied = (txnId: string, chunkIndex: number): TxnEvent => ({ kind: 'applied', txnId, target: 'db', chunkIndex, chunkCount: 2, attempts: 1, at: 1100 });

describe('transaction tracker metrics', () => {
  it('counts pending transactions it finds in its restored store, so the gauge survives a restart', async () => {
    const driver = await trackerDriver();
    await driver.pipeInputs(COMPLETIONS, [record(begin('a')), record(begin('b')), record(applied('b', 0))]);
    expect(await gauge('wal_txn_pending')).toBe(2);
    await driver.close();
    expect(await gauge('wal_txn_pending')).toBe(0);

    // The next owner of the partition opens the same store: both are still pending.
    const completedBefore = await gauge('wal_txn_completed_total');
    await driver.reopen();
    expect(await gauge('wal_txn_pending')).toBe(2);
    await driver.pipeInput(COMPLETIONS, record(applied('b', 1)));
    expect(await gauge('wal_txn_pending')).toBe(1);
    expect(await gauge('wal_txn_completed_total')).toBe(completedBefore + 1);
    await driver.close();
    expect(await gauge('wal_txn_pending')).toBe(0);
  });
});
