/**
 * Offset syncs (MirrorMaker 2's offset-syncs), pure: per source partition, pairs "source offset s
 * was written at target offset t", sampled from produce acks. A consumer group's committed source
 * offset c translates to the target conservatively, so a consumer failing over may re-read but never
 * skips: with the last pair (s, t) at or below c, c = s maps to t and c > s maps to t + 1.
 *
 * Pairs are sampled every SYNC_EVERY mirrored records (MM2's offset.lag.max), exact because one produce
 * request lands contiguously. Each partition keeps a bounded list thinned to exponentially growing
 * distances from the newest (fine near the head, coarse far back), and the whole list is what gets
 * persisted, so a compacted topic holding only the last record per partition loses nothing.
 */

export interface SyncPair {
  readonly source: bigint;
  readonly target: bigint;
}

export interface PartitionSyncs {
  readonly sourceTopic: string;
  readonly targetTopic: string;
  readonly partition: number;
  readonly pairs: readonly SyncPair[];
}

export const DEFAULT_MAX_PAIRS = 256;

/** Bucket of a distance from the newest pair: `perOctave` buckets per doubling (0 = the newest itself). */
function bucketOf(distance: bigint, perOctave: number): number {
  return distance <= 0n ? 0 : Math.floor(Math.log2(Number(distance)) * perOctave) + 1;
}

/**
 * Keeps the newest pair and, per bucket of distance from it, the oldest pair (widest coverage):
 * 8 buckets per doubling, so a group d records behind the head translates to within ~d/11 records
 * of its position; coarser only when that would exceed `maxPairs`.
 */
export function thinPairs(pairs: readonly SyncPair[], maxPairs: number): SyncPair[] {
  if (pairs.length <= maxPairs) return [...pairs];
  const newest = pairs[pairs.length - 1];
  for (let perOctave = 8; ; perOctave /= 2) {
    const byBucket = new Map<number, SyncPair>();
    for (const p of pairs) {
      const bucket = bucketOf(newest.source - p.source, perOctave);
      if (!byBucket.has(bucket)) byBucket.set(bucket, p);
    }
    byBucket.set(0, newest);
    const kept = [...byBucket.values()].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
    if (kept.length <= maxPairs || perOctave <= 1) return kept.length <= maxPairs ? kept : [kept[0], ...kept.slice(-(maxPairs - 1))];
  }
}

function key(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

export class OffsetSyncStore {
  private readonly partitions = new Map<string, { sourceTopic: string; targetTopic: string; partition: number; pairs: SyncPair[] }>();
  private readonly dirty = new Set<string>();

  constructor(private readonly maxPairs = DEFAULT_MAX_PAIRS) {}

  /**
   * Records that source offset `source` of (topic, partition) landed at target offset `target`.
   * A pair below existing ones (the mirror replayed after a restart) replaces every pair at or
   * above it: those target positions precede the replayed copies.
   */
  add(sourceTopic: string, targetTopic: string, partition: number, source: bigint, target: bigint): void {
    const k = key(sourceTopic, partition);
    let entry = this.partitions.get(k);
    if (!entry) {
      entry = { sourceTopic, targetTopic, partition, pairs: [] };
      this.partitions.set(k, entry);
    }
    if (entry.targetTopic !== targetTopic) {
      entry.targetTopic = targetTopic;
      entry.pairs = [];
    }
    const kept = entry.pairs.filter((p) => p.source < source && p.target < target);
    kept.push({ source, target });
    entry.pairs = thinPairs(kept, this.maxPairs);
    this.dirty.add(k);
  }

  /** Replaces a partition's pairs with persisted ones (loading at start; newer local pairs win). */
  load(syncs: PartitionSyncs): void {
    const k = key(syncs.sourceTopic, syncs.partition);
    if (this.partitions.has(k)) return;
    this.partitions.set(k, { ...syncs, pairs: [...syncs.pairs] });
  }

  /** The target offset a group that committed `committed` on the source resumes at, or undefined when no pair is at or below it. */
  translate(sourceTopic: string, partition: number, committed: bigint): { targetTopic: string; offset: bigint } | undefined {
    const entry = this.partitions.get(key(sourceTopic, partition));
    if (!entry) return undefined;
    let best: SyncPair | undefined;
    for (const p of entry.pairs) {
      if (p.source <= committed) best = p;
      else break;
    }
    if (!best) return undefined;
    return { targetTopic: entry.targetTopic, offset: best.source === committed ? best.target : best.target + 1n };
  }

  get(sourceTopic: string, partition: number): PartitionSyncs | undefined {
    const entry = this.partitions.get(key(sourceTopic, partition));
    return entry ? { ...entry, pairs: [...entry.pairs] } : undefined;
  }

  /** Partitions changed since the last call (what to persist next). */
  takeDirty(): PartitionSyncs[] {
    const out: PartitionSyncs[] = [];
    for (const k of this.dirty) {
      const e = this.partitions.get(k);
      if (e) out.push({ ...e, pairs: [...e.pairs] });
    }
    this.dirty.clear();
    return out;
  }
}

/** Compacted-topic record of one partition's pairs: key names the partition, value holds the list. */
export function encodeSyncs(syncs: PartitionSyncs): { key: string; value: string } {
  return {
    key: JSON.stringify({ topic: syncs.sourceTopic, partition: syncs.partition }),
    value: JSON.stringify({ targetTopic: syncs.targetTopic, pairs: syncs.pairs.map((p) => [p.source.toString(), p.target.toString()]) }),
  };
}

export function decodeSyncs(key: Buffer | string | null, value: Buffer | string | null): PartitionSyncs | undefined {
  if (key === null || value === null) return undefined;
  try {
    const k = JSON.parse(key.toString()) as { topic: string; partition: number };
    const v = JSON.parse(value.toString()) as { targetTopic: string; pairs: [string, string][] };
    return { sourceTopic: k.topic, partition: k.partition, targetTopic: v.targetTopic, pairs: v.pairs.map(([s, t]) => ({ source: BigInt(s), target: BigInt(t) })) };
  } catch {
    return undefined;
  }
}
