import { mutationBytes, planChunks } from '../../src/mutations/chunking';
import { keyPartition } from '../../src/mutations/partitioner';
import type { Mutation } from '../../src/wire';

function put(target: string, key: string, sequence: number, value = `v-${key}-${sequence}`): Mutation {
  return { target, key, op: 'PUT', value: Buffer.from(value), sequence };
}

function mutations(count: number, targets: string[]): Mutation[] {
  return Array.from({ length: count }, (_, i) => put(targets[i % targets.length], `k${i % 997}`, i));
}

const limits = { chunkSize: 100, maxChunkBytes: 512 * 1024, partitions: 3 };

describe('keyPartition', () => {
  it('is stable and within the partition count', () => {
    for (const key of ['a', 'order-17', 'ключ', '']) {
      const p = keyPartition(key, 7);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(7);
      expect(keyPartition(key, 7)).toBe(p);
      expect(keyPartition(Buffer.from(key), 7)).toBe(p);
    }
  });

  it('spreads keys over every partition', () => {
    const seen = new Set(Array.from({ length: 200 }, (_, i) => keyPartition(`key-${i}`, 4)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });

  it('refuses a partition count that is not a positive integer', () => {
    expect(() => keyPartition('k', 0)).toThrow(/partition count must be a positive integer, got 0/);
  });
});

describe('planChunks', () => {
  it('places every mutation in exactly one chunk, none over chunkSize', () => {
    const input = mutations(10_000, ['orders', 'users', 'cache']);
    const plan = planChunks(input, limits);
    const all = plan.chunks.flatMap((c) => c.mutations);
    expect(all).toHaveLength(input.length);
    expect(new Set(all)).toEqual(new Set(input));
    for (const chunk of plan.chunks) expect(chunk.mutations.length).toBeLessThanOrEqual(100);
  });

  it('makes ceil(n / chunkSize) chunks per target and partition, numbered 0..count-1', () => {
    const input = mutations(10_000, ['orders', 'users', 'cache', 'audit']);
    const plan = planChunks(input, limits);
    const groups = new Map<string, number>();
    for (const m of input) {
      const g = `${m.target}/${keyPartition(m.key, 3)}`;
      groups.set(g, (groups.get(g) ?? 0) + 1);
    }
    const expected = [...groups.values()].reduce((sum, n) => sum + Math.ceil(n / 100), 0);
    expect(plan.chunks).toHaveLength(expected);
    expect(plan.chunks.map((c) => c.chunkIndex)).toEqual(Array.from({ length: expected }, (_, i) => i));
    expect(new Set(plan.chunks.map((c) => c.chunkCount))).toEqual(new Set([expected]));
    expect(Object.values(plan.perTarget).reduce((a, b) => a + b, 0)).toBe(expected);
  });

  it('keeps one key on one partition of its target, in request order', () => {
    const input = [put('t', 'a', 1), put('t', 'b', 2), put('t', 'a', 3), put('u', 'a', 4), put('t', 'a', 5)];
    const plan = planChunks(input, { ...limits, chunkSize: 1 });
    const ofA = plan.chunks.filter((c) => c.target === 't' && c.mutations[0].key === 'a');
    expect(ofA.map((c) => c.mutations[0].sequence)).toEqual([1, 3, 5]);
    expect(new Set(ofA.map((c) => c.partition))).toEqual(new Set([keyPartition('a', 3)]));
    for (const chunk of plan.chunks) {
      for (const m of chunk.mutations) {
        expect(m.target).toBe(chunk.target);
        expect(keyPartition(m.key, 3)).toBe(chunk.partition);
      }
    }
    // Chunk indexes grow along the order each key must be applied in.
    const indexes = ofA.map((c) => c.chunkIndex);
    expect([...indexes].sort((x, y) => x - y)).toEqual(indexes);
  });

  it('cuts chunks at maxChunkBytes, and lets one larger mutation travel alone', () => {
    const big = put('t', 'big', 1, 'x'.repeat(5000));
    const small = Array.from({ length: 30 }, (_, i) => put('t', 'big', i + 2, 'y'.repeat(100)));
    const maxChunkBytes = 1000;
    const plan = planChunks([big, ...small], { chunkSize: 100, maxChunkBytes, partitions: 1 });
    expect(plan.chunks[0].mutations).toEqual([big]);
    for (const chunk of plan.chunks.slice(1)) {
      expect(chunk.mutations.reduce((sum, m) => sum + mutationBytes(m), 0)).toBeLessThanOrEqual(maxChunkBytes);
    }
    expect(plan.chunks.flatMap((c) => c.mutations)).toHaveLength(31);
  });

  it('gives the same plan for the same request (a replay makes the same chunks)', () => {
    const input = mutations(1000, ['b', 'a']);
    const strip = (p: ReturnType<typeof planChunks>) => p.chunks.map((c) => [c.target, c.partition, c.chunkIndex, c.mutations.map((m) => m.sequence)]);
    expect(strip(planChunks(input, limits))).toEqual(strip(planChunks([...input], limits)));
    expect(planChunks(input, limits).chunks[0].target).toBe('a');
  });

  it('plans nothing for no mutations', () => {
    expect(planChunks([], limits)).toEqual({ chunks: [], perTarget: {} });
  });

  it('rejects limits that cannot work', () => {
    expect(() => planChunks([], { ...limits, chunkSize: 0 })).toThrow(/chunkSize must be a positive integer, got 0/);
    expect(() => planChunks([], { ...limits, maxChunkBytes: 0 })).toThrow(/maxChunkBytes must be positive/);
  });
});
