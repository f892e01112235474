import type { Kafka } from 'kafkajs';
import { isPendingTimerKey } from '../delayed-queue';
import { readPartitionRange } from '../kafka/partition-reader';

/**
 * Timers pending in a delayed queue, counted from its timers changelog (the latest value per key,
 * as a restore would see it): what deleting the namespace would leave undelivered. As of the
 * instances' last commit; 0 when the changelog does not exist yet.
 */
export async function countPendingTimers(kafka: Kafka, changelog: string, onProgress?: (read: number, total: number) => void): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  let ranges: Array<{ partition: number; low: string; high: string }>;
  try {
    if (!(await admin.listTopics()).includes(changelog)) return 0;
    ranges = (await admin.fetchTopicOffsets(changelog)).map((o) => ({ partition: o.partition, low: o.low, high: o.high }));
  } finally {
    await admin.disconnect();
  }
  const total = ranges.reduce((sum, r) => sum + Number(BigInt(r.high) - BigInt(r.low)), 0);
  let read = 0;
  let pending = 0;
  for (const range of ranges) {
    const live = new Set<string>();
    await readPartitionRange(kafka, {
      topic: changelog,
      partition: range.partition,
      from: range.low,
      until: range.high,
      stallTimeoutMs: 30_000,
      onStall: (position) => new Error(`reading ${changelog}[${range.partition}] made no progress for 30 s at offset ${position}`),
      onRecords: async (messages) => {
        for (const m of messages) {
          if (!m.key || !isPendingTimerKey(m.key)) continue;
          const key = m.key.toString('latin1');
          if (m.value === null) live.delete(key);
          else live.add(key);
        }
        read += messages.length;
        onProgress?.(read, total);
      },
    });
    pending += live.size;
  }
  return pending;
}
