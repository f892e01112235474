import type { Kafka } from 'kafkajs';
import { partitionBounds, readPartitionRange } from '../kafka/partition-reader';
import { MirrorError } from './errors';

/**
 * Reads a single-partition compacted topic of the mirror (positions, offset syncs) from its start to
 * its last stable offset (read_committed) and returns the latest value per key; a tombstone removes it.
 */
export async function readLatestByKey(kafka: Kafka, topic: string, stallTimeoutMs = 20_000): Promise<Map<string, Buffer>> {
  const { low, end } = await partitionBounds(kafka, topic, 0);
  const latest = new Map<string, Buffer>();
  await readPartitionRange(kafka, {
    topic,
    partition: 0,
    from: low,
    until: end,
    stallTimeoutMs,
    onStall: (position) => new MirrorError(`reading ${topic} made no progress for ${stallTimeoutMs} ms at offset ${position}`, true),
    onRecords: async (messages) => {
      for (const m of messages) {
        if (m.key === null) continue;
        if (m.value === null) latest.delete(m.key.toString());
        else latest.set(m.key.toString(), m.value);
      }
    },
  });
  return latest;
}
