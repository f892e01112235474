import { depthOf, markedPrefixEnd, markKey, staleMarks, type DlqMark, type PartitionBounds } from '../../src/dlq/ledger';
import { parseDlqFilters, replayHeaders } from '../../src/dlq/operations';
import { DLQ_HEADERS, INTAKE_HEADERS } from '../../src/wire/headers';

const purged: DlqMark = { action: 'purged', at: '2026-12-03T10:00:00.000Z', by: 'cli' };
const marks = (...keys: string[]) => new Map(keys.map((key) => [key, purged]));
const bounds = (partition: number, low: number, high: number): PartitionBounds => ({ partition, low: BigInt(low), high: BigInt(high) });

describe('DLQ depth: records present minus marks on them', () => {
  it('counts high − low of every partition when nothing is marked', () => {
    expect(depthOf([bounds(0, 0, 5), bounds(1, 3, 7)], marks())).toBe(9);
  });

  it('subtracts each mark on a record still in its partition', () => {
    expect(depthOf([bounds(0, 0, 5), bounds(1, 3, 7)], marks(markKey(0, 1), markKey(0, 4), markKey(1, 3)))).toBe(6);
  });

  it('ignores marks below the low watermark (retention or a purge removed them), at or past the high one, or of an unknown partition', () => {
    expect(depthOf([bounds(0, 10, 12)], marks(markKey(0, 3), markKey(0, 9), markKey(0, 12), markKey(5, 10), 'not-a-key'))).toBe(2);
  });

  it('names the marks to tombstone: those below the low watermark and those of partitions the DLQ lacks', () => {
    expect(staleMarks([bounds(0, 10, 12)], marks(markKey(0, 9), markKey(0, 10), markKey(0, 11), markKey(3, 0))).sort()).toEqual(['0:9', '3:0']);
  });
});

describe('the contiguous marked prefix a purge may delete', () => {
  const marked = (...offsets: number[]) => (offset: bigint) => offsets.includes(Number(offset));

  it('ends at the first unmarked record, whatever is marked after it', () => {
    expect(markedPrefixEnd(bounds(0, 0, 10), marked(0, 1, 2, 4, 5))).toBe(3n);
  });

  it('is empty when the first record is unmarked, and deletes nothing', () => {
    expect(markedPrefixEnd(bounds(0, 4, 10), marked(5, 6, 7))).toBe(4n);
  });

  it('reaches the high watermark when every record is marked, and starts at the low one', () => {
    expect(markedPrefixEnd(bounds(0, 4, 7), marked(4, 5, 6))).toBe(7n);
    expect(markedPrefixEnd(bounds(0, 7, 7), marked())).toBe(7n);
  });
});

describe('DLQ filters and replay headers', () => {
  it('parses instants and the reason once; a bad regular expression or instant is a request error naming it', () => {
    const filters = parseDlqFilters({ since: '30s', reason: 'HTTP 4\\d\\d', kinds: ['permanent'], ids: [] }, 100_000);
    expect(filters).toMatchObject({ since: 70_000, kinds: ['permanent'], ids: undefined });
    expect(filters.reason!.test('HTTP 404')).toBe(true);
    expect(() => parseDlqFilters({ reason: '(unclosed' })).toThrow('--reason "(unclosed": not a regular expression');
    expect(() => parseDlqFilters({ until: 'yesterday' })).toThrow('--until: "yesterday" is neither');
  });

  it('sends a replay back with its own headers and the override set, or an earlier override cleared', () => {
    const dead = { trace: 't', [DLQ_HEADERS.kind]: 'permanent', [DLQ_HEADERS.id]: 'r-1', [INTAKE_HEADERS.toTarget]: 'old' };
    expect(replayHeaders(dead, 'hook')).toEqual({ trace: 't', [DLQ_HEADERS.id]: 'r-1', [INTAKE_HEADERS.toTarget]: 'hook' });
    expect(replayHeaders(dead, undefined)).toEqual({ trace: 't', [DLQ_HEADERS.id]: 'r-1' });
  });
});
