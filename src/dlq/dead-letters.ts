import type { Kafka } from 'kafkajs';
import { decodeHeaders } from '../kafka/consumer-helpers';
import { readPartitionRange } from '../kafka/partition-reader';
import { DLQ_HEADERS } from '../wire/headers';

/** "30s", "2h", "3d" ago, or an ISO instant, as epoch ms. */
export function parseInstant(text: string, now = Date.now()): number {
  const relative = /^(\d+)\s*(ms|s|m|h|d)$/.exec(text.trim());
  if (relative) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    return now - Number(relative[1]) * unit;
  }
  const instant = Date.parse(text);
  if (Number.isNaN(instant)) throw new Error(`"${text}" is neither a duration ago (30s, 2h, 3d) nor an ISO date-time`);
  return instant;
}

export interface DeadLetter {
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

export interface DeadLetterQuery {
  /** Only records written to the DLQ at or after this instant (epoch ms). */
  readonly since?: number;
  /** Only records written before this instant. */
  readonly until?: number;
  /** Only records of these request ids. */
  readonly ids?: readonly string[];
  /** Only records of these kinds (poison, permanent, exhausted, error). */
  readonly kinds?: readonly string[];
  /** Only records that failed on these targets. */
  readonly targets?: readonly string[];
  /** Only records whose reason matches. */
  readonly reason?: RegExp;
  readonly limit?: number;
  readonly onProgress?: (read: number, total: number) => void;
}

/**
 * Reads a DLQ topic from `since` (located by timestamp, not by scanning) up to its end offsets at
 * the time of the call, all partitions, filtered by time and id.
 */
export async function readDeadLetters(kafka: Kafka, topic: string, query: DeadLetterQuery = {}): Promise<DeadLetter[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ranges: Array<{ partition: number; from: string; until: string }>;
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const starts = query.since === undefined ? undefined : await admin.fetchTopicOffsetsByTimestamp(topic, query.since);
    ranges = ends.map((end) => {
      const start = starts?.find((s) => s.partition === end.partition);
      // fetchTopicOffsetsByTimestamp answers -1 (or the end) when nothing is that recent.
      const from = start && start.offset !== '-1' ? start.offset : query.since === undefined ? end.low : end.high;
      return { partition: end.partition, from: BigInt(from) < BigInt(end.low) ? end.low : from, until: end.high };
    });
  } finally {
    await admin.disconnect();
  }
  const total = ranges.reduce((sum, r) => sum + Number(BigInt(r.until) - BigInt(r.from)), 0);
  const ids = query.ids ? new Set(query.ids) : undefined;
  const found: DeadLetter[] = [];
  let read = 0;
  for (const range of ranges) {
    await readPartitionRange(kafka, {
      topic,
      partition: range.partition,
      from: range.from,
      until: range.until,
      stallTimeoutMs: 30_000,
      onStall: (position) => new Error(`reading ${topic}[${range.partition}] made no progress for 30 s at offset ${position}`),
      onRecords: async (messages) => {
        read += messages.length;
        query.onProgress?.(read, total);
        for (const m of messages) {
          const letter = { timestamp: Number(m.timestamp), headers: decodeHeaders(m.headers) };
          if (!selected(letter, query, ids)) continue;
          found.push({ partition: range.partition, offset: m.offset, key: m.key, value: m.value, ...letter });
        }
      },
    });
  }
  found.sort((a, b) => a.timestamp - b.timestamp);
  return query.limit === undefined ? found : found.slice(0, query.limit);
}

/** Whether a dead letter (its DLQ time and headers) passes the query's time, id, kind, target and reason filters. */
export function selected(letter: Pick<DeadLetter, 'timestamp' | 'headers'>, query: DeadLetterQuery, ids = query.ids && new Set(query.ids)): boolean {
  const { timestamp, headers } = letter;
  if (query.until !== undefined && timestamp >= query.until) return false;
  if (query.since !== undefined && timestamp < query.since) return false;
  if (ids && !ids.has(headers[DLQ_HEADERS.id] ?? '')) return false;
  if (query.kinds && !query.kinds.includes(headers[DLQ_HEADERS.kind] ?? '')) return false;
  if (query.targets && !query.targets.includes(headers[DLQ_HEADERS.target] ?? '')) return false;
  return !query.reason || query.reason.test(headers[DLQ_HEADERS.reason] ?? '');
}
