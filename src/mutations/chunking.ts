import type { Mutation } from '../wire';
import { keyPartition } from './partitioner';

export interface ChunkingLimits {
  /** Most mutations in one chunk. */
  readonly chunkSize: number;
  /** Most (estimated) encoded bytes in one chunk; a single larger mutation still travels alone. */
  readonly maxChunkBytes: number;
  /** Partitions of the per-target topics: a chunk holds keys of one partition only. */
  readonly partitions: number;
}

/** One slice of a transaction's mutations: one target, one partition of its topic. */
export interface PlannedChunk {
  readonly target: string;
  readonly partition: number;
  /** 0-based among all the transaction's chunks (every target). */
  readonly chunkIndex: number;
  readonly chunkCount: number;
  readonly mutations: readonly Mutation[];
}

export interface ChunkPlan {
  readonly chunks: readonly PlannedChunk[];
  /** Chunks per target. */
  readonly perTarget: Readonly<Record<string, number>>;
}

/** Avro-ish size of a mutation in a chunk: strings and bytes plus a few bytes of lengths, op and sequence. */
export function mutationBytes(m: Mutation): number {
  return Buffer.byteLength(m.target) + Buffer.byteLength(m.key) + (m.value?.length ?? 0) + 16;
}

/**
 * Splits a transaction's mutations into chunks. Mutations are grouped by target and by the partition
 * their key hashes to, so that every mutation of one key travels on the same partition, in request
 * order, and is applied in that order; each group is cut into chunks of at most `chunkSize`
 * mutations and `maxChunkBytes`. Targets come in name order and partitions in number order, so the
 * plan of a request is the same every time it is made (a replayed request yields the same chunks).
 */
export function planChunks(mutations: readonly Mutation[], limits: ChunkingLimits): ChunkPlan {
  const { chunkSize, maxChunkBytes, partitions } = limits;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
  if (!(maxChunkBytes > 0)) throw new RangeError(`maxChunkBytes must be positive, got ${maxChunkBytes}`);

  const groups = new Map<string, Map<number, Mutation[]>>();
  for (const m of mutations) {
    let byPartition = groups.get(m.target);
    if (!byPartition) groups.set(m.target, (byPartition = new Map()));
    const p = keyPartition(m.key, partitions);
    let list = byPartition.get(p);
    if (!list) byPartition.set(p, (list = []));
    list.push(m);
  }

  const slices: Array<{ target: string; partition: number; mutations: Mutation[] }> = [];
  for (const target of [...groups.keys()].sort()) {
    const byPartition = groups.get(target)!;
    for (const partition of [...byPartition.keys()].sort((a, b) => a - b)) {
      let current: Mutation[] = [];
      let bytes = 0;
      for (const m of byPartition.get(partition)!) {
        const size = mutationBytes(m);
        if (current.length > 0 && (current.length >= chunkSize || bytes + size > maxChunkBytes)) {
          slices.push({ target, partition, mutations: current });
          current = [];
          bytes = 0;
        }
        current.push(m);
        bytes += size;
      }
      if (current.length > 0) slices.push({ target, partition, mutations: current });
    }
  }

  const perTarget: Record<string, number> = {};
  const chunks = slices.map((s, chunkIndex): PlannedChunk => {
    perTarget[s.target] = (perTarget[s.target] ?? 0) + 1;
    return { ...s, chunkIndex, chunkCount: slices.length };
  });
  return { chunks, perTarget };
}
