import { translateGroup } from '../../src/mirror/checkpoints';
import { chunkByBytes, pairsOf, SYNC_EVERY } from '../../src/mirror/target-writer';
import { decodeSyncs, encodeSyncs, OffsetSyncStore, thinPairs } from '../../src/mirror/offset-syncs';
import { PartitionProgress } from '../../src/mirror/progress';

describe('offset syncs and translation', () => {
  it('translates exactly at a synced offset and to the record after it in between (never skipping)', () => {
    const s = new OffsetSyncStore();
    s.add('t', 'A.t', 0, 100n, 1000n);
    s.add('t', 'A.t', 0, 199n, 1099n);
    expect(s.translate('t', 0, 100n)).toEqual({ targetTopic: 'A.t', offset: 1000n });
    // Group consumed up to 149: the target copy of 101..149 sits somewhere after 1000, so resume at 1001.
    expect(s.translate('t', 0, 150n)).toEqual({ targetTopic: 'A.t', offset: 1001n });
    expect(s.translate('t', 0, 500n)).toEqual({ targetTopic: 'A.t', offset: 1100n });
    expect(s.translate('t', 0, 99n)).toBeUndefined();
    expect(s.translate('t', 1, 150n)).toBeUndefined();
  });

  it('after a replay (restart), drops the pairs the replay wrote again', () => {
    const s = new OffsetSyncStore();
    s.add('t', 'A.t', 0, 100n, 100n);
    s.add('t', 'A.t', 0, 200n, 200n);
    s.add('t', 'A.t', 0, 150n, 250n);
    expect(s.get('t', 0)!.pairs).toEqual([
      { source: 100n, target: 100n },
      { source: 150n, target: 250n },
    ]);
    expect(s.translate('t', 0, 210n)!.offset).toBe(251n);
  });

  it('keeps a bounded list: dense near the newest pair, sparse far back, oldest kept', () => {
    const pairs = Array.from({ length: 1000 }, (_, i) => ({ source: BigInt(i * 10), target: BigInt(i * 10 + 5) }));
    const thinned = thinPairs(pairs, 16);
    expect(thinned.length).toBeLessThanOrEqual(16);
    expect(thinned[thinned.length - 1]).toEqual(pairs[pairs.length - 1]);
    expect(thinned[0]).toEqual(pairs[0]);
    const s = new OffsetSyncStore(16);
    for (const p of pairs) s.add('t', 'A.t', 0, p.source, p.target);
    expect(s.get('t', 0)!.pairs.length).toBeLessThanOrEqual(16);
    // Any committed offset still translates to a target offset at or before its copy.
    for (const c of [0n, 5n, 3333n, 9990n]) expect(s.translate('t', 0, c)!.offset).toBeLessThanOrEqual(c + 5n);
  });

  it('with the default bound, a group far behind the head still translates to close to its position', () => {
    const s = new OffsetSyncStore();
    for (let i = 0n; i < 100_000n; i += 100n) s.add('t', 'A.t', 0, i, i + 7n);
    expect(s.get('t', 0)!.pairs.length).toBeLessThanOrEqual(256);
    for (const behind of [150n, 1_000n, 10_000n, 60_000n]) {
      const committed = 99_900n - behind;
      const resumeAt = s.translate('t', 0, committed)!.offset;
      // Never after the committed record's copy, and re-reading at most ~1/8 of the distance (plus the sampling step).
      expect(resumeAt).toBeLessThanOrEqual(committed + 7n);
      expect(committed + 7n - resumeAt).toBeLessThanOrEqual(behind / 8n + 100n);
    }
  });

  it('samples exact pairs from a produce ack: every SYNC_EVERY records and the last', () => {
    const sourceOffsets = Array.from({ length: 250 }, (_, i) => BigInt(1000 + 2 * i)); // gaps: skipped records
    const pairs = pairsOf({ targetTopic: 't', targetPartition: 1, sourceOffsets }, 0, 250, [{ topicName: 't', partition: 1, errorCode: 0, baseOffset: '40' }]);
    expect(pairs).toEqual([
      { source: 1000n, target: 40n },
      { source: 1000n + 2n * BigInt(SYNC_EVERY), target: 40n + BigInt(SYNC_EVERY) },
      { source: 1400n, target: 240n },
      { source: 1498n, target: 289n },
    ]);
    expect(pairsOf({ targetTopic: 't', sourceOffsets }, 0, 250, [])).toEqual([]);
  });

  it('round-trips through the compacted-topic record and reports only changed partitions', () => {
    const s = new OffsetSyncStore();
    s.add('t', 'A.t', 3, 7n, 9n);
    const dirty = s.takeDirty();
    expect(dirty).toHaveLength(1);
    expect(s.takeDirty()).toHaveLength(0);
    const { key, value } = encodeSyncs(dirty[0]);
    expect(decodeSyncs(Buffer.from(key), Buffer.from(value))).toEqual(dirty[0]);
    expect(decodeSyncs(Buffer.from('garbage'), Buffer.from('{'))).toBeUndefined();
    const loaded = new OffsetSyncStore();
    loaded.load(dirty[0]);
    expect(loaded.translate('t', 3, 8n)).toEqual({ targetTopic: 'A.t', offset: 10n });
  });

  it('translates a group’s committed offsets, leaving out uncommitted and unsynced partitions', () => {
    const s = new OffsetSyncStore();
    s.add('t', 'A.t', 0, 10n, 20n);
    const out = translateGroup('billing', [{ topic: 't', partitions: [{ partition: 0, offset: '12' }, { partition: 1, offset: '5' }, { partition: 2, offset: '-1' }] }], s);
    expect(out).toEqual([{ group: 'billing', sourceTopic: 't', targetTopic: 'A.t', partition: 0, upstreamOffset: 12n, downstreamOffset: 21n }]);
  });
});

describe('partition progress (lag)', () => {
  it('reports records behind and an upper bound on the oldest unmirrored record’s age', () => {
    const p = new PartitionProgress('t', 0);
    expect(p.lag(0)).toEqual({ records: null, seconds: null });
    p.observeHighWatermark(100n, 1_000);
    p.advance(40n, 5_000, 40, 0, 10_000);
    expect(p.lag(12_000)).toEqual({ records: 60, seconds: 7 });
    p.advance(100n, 11_000, 60, 0, 13_000);
    expect(p.lag(14_000)).toEqual({ records: 0, seconds: 0 });
    // Seen caught up at 13 s; a record arriving later cannot be older than that.
    p.observeHighWatermark(101n, 20_000);
    expect(p.lag(21_000)).toEqual({ records: 1, seconds: 8 });
  });
});

describe('produce chunking', () => {
  it('splits a batch into requests under the byte limit, keeping order and never an empty chunk', () => {
    const msgs = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(300) }));
    const chunks = chunkByBytes(msgs, 1000);
    expect(chunks.map((c) => c.to - c.from).reduce((a, b) => a + b, 0)).toBe(10);
    expect(chunks[0].from).toBe(0);
    for (let i = 1; i < chunks.length; i++) expect(chunks[i].from).toBe(chunks[i - 1].to);
    expect(chunkByBytes([{ value: Buffer.alloc(5000) }], 1000)).toEqual([{ from: 0, to: 1 }]);
  });
});
