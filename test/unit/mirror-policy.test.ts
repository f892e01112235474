import { isCycle, isInternalTopic, selectionFor, selectTopics, targetTopicName } from '../../src/mirror/topics';
import { originOf, shouldMirror, withOrigin } from '../../src/mirror/origin';
import { ORIGIN_HEADERS } from '../../src/wire/headers';
import type { ReplicationConfig } from '../../src/namespaces/types';

function replication(overrides: Partial<ReplicationConfig>): ReplicationConfig {
  return { source: 'A', targets: ['B'], topics: [], rename: 'prefix', groups: [], checkpointIntervalMs: 5000, ...overrides };
}

describe('mirror topic naming', () => {
  it('prefixes the source alias by default and keeps the name under identity', () => {
    expect(targetTopicName('orders', 'prefix', 'A')).toBe('A.orders');
    expect(targetTopicName('orders', 'identity', 'A')).toBe('orders');
  });

  it('treats a topic that already passed through the target as a cycle, only for known aliases', () => {
    const aliases = new Set(['A', 'B', 'C']);
    expect(isCycle('B.orders', 'B', aliases)).toBe(true);
    expect(isCycle('C.B.orders', 'B', aliases)).toBe(true);
    expect(isCycle('C.orders', 'B', aliases)).toBe(false);
    expect(isCycle('orders.B', 'B', aliases)).toBe(false);
    // "orders" is not a cluster alias: the walk stops there.
    expect(isCycle('orders.B.x', 'B', aliases)).toBe(false);
  });

  it('recognises internal topics (MM2 defaults and the mirror’s own)', () => {
    for (const t of ['__consumer_offsets', 'A.checkpoints.internal', 'mm2-offsets.A.internal', 'x.replica', 'wal.mirror.ns.A.positions']) {
      expect({ t, internal: isInternalTopic(t) }).toEqual({ t, internal: true });
    }
    expect(isInternalTopic('orders.internal-billing')).toBe(false);
  });
});

describe('mirror topic selection', () => {
  const existing = ['orders.eu', 'orders.us', 'ordersx', 'payments', 'B.orders.eu', '__consumer_offsets', 'orders.internal'];

  it('matches the pattern against whole names, excludes internal topics and cycles, sorts', () => {
    const sel = selectionFor(replication({ topicPattern: 'orders\\..*' }), 'B', ['A', 'B']);
    expect(selectTopics(existing, sel)).toEqual([
      { source: 'orders.eu', target: 'A.orders.eu' },
      { source: 'orders.us', target: 'A.orders.us' },
    ]);
  });

  it('anchors the pattern: a partial match is not enough', () => {
    const sel = selectionFor(replication({ topicPattern: 'orders' }), 'B', ['A', 'B']);
    expect(selectTopics(existing, sel)).toEqual([]);
  });

  it('takes explicit names as given when they exist, together with pattern matches', () => {
    const sel = selectionFor(replication({ topics: ['payments', 'missing'], topicPattern: 'ordersx', rename: 'identity' }), 'B', ['A', 'B']);
    expect(selectTopics(existing, sel)).toEqual([
      { source: 'ordersx', target: 'ordersx' },
      { source: 'payments', target: 'payments' },
    ]);
  });

  it('under identity names, copies of the target’s topics are left to the origin header, not the name', () => {
    const sel = selectionFor(replication({ topicPattern: '.*orders.*', rename: 'identity' }), 'B', ['A', 'B']);
    expect(selectTopics(existing, sel).map((t) => t.source)).toEqual(['B.orders.eu', 'orders.eu', 'orders.us', 'ordersx']);
  });

  it('picks up a topic created later on the next listing', () => {
    const sel = selectionFor(replication({ topicPattern: 'orders\\..*' }), 'B', ['A', 'B']);
    expect(selectTopics([...existing, 'orders.apac'], sel).map((t) => t.source)).toContain('orders.apac');
  });
});

describe('origin header (loop prevention)', () => {
  const A = { alias: 'A', clusterId: 'cluster-a' };

  it('adds the source cluster id and alias to a record that has no origin', () => {
    const headers = withOrigin({ trace: Buffer.from('t1') }, A);
    expect(originOf(headers)).toBe('cluster-a');
    expect(headers[ORIGIN_HEADERS.alias]).toBe('A');
    expect(headers.trace).toEqual(Buffer.from('t1'));
  });

  it('keeps an existing origin, so a chain A→B→C still names the first cluster', () => {
    const fromC = { [ORIGIN_HEADERS.clusterId]: Buffer.from('cluster-c'), [ORIGIN_HEADERS.alias]: Buffer.from('C') };
    expect(withOrigin(fromC, A)).toBe(fromC);
  });

  it('does not mirror a record back to the cluster it came from', () => {
    expect(shouldMirror({ [ORIGIN_HEADERS.clusterId]: Buffer.from('cluster-b') }, 'cluster-b')).toBe(false);
    expect(shouldMirror({ [ORIGIN_HEADERS.clusterId]: Buffer.from('cluster-c') }, 'cluster-b')).toBe(true);
    expect(shouldMirror(undefined, 'cluster-b')).toBe(true);
    expect(shouldMirror({ [ORIGIN_HEADERS.clusterId]: [Buffer.from('cluster-b'), Buffer.from('x')] }, 'cluster-b')).toBe(false);
  });
});
