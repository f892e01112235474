import type { Kafka, Message } from 'kafkajs';
import { readLatestByKey } from './compacted';

/**
 * Exactly-once source positions, kept on the TARGET cluster in a compacted topic and written in the
 * same transaction as the mirrored records (kafkajs' sendOffsets can only commit to a group of the
 * producer's own cluster). A position is the next source offset to mirror for one partition.
 */
export class PositionStore {
  private readonly positions = new Map<string, bigint>();

  constructor(readonly topic: string) {}

  private static key(topic: string, partition: number): string {
    return JSON.stringify({ topic, partition });
  }

  /** Replaces what is in memory with what the topic holds (committed transactions only). */
  async reload(kafka: Kafka): Promise<void> {
    const latest = await readLatestByKey(kafka, this.topic);
    this.positions.clear();
    for (const [key, value] of latest) {
      try {
        const { offset } = JSON.parse(value.toString()) as { offset: string };
        this.positions.set(key, BigInt(offset));
      } catch {
        // Not ours (or damaged): ignore, the group's committed offset is the fallback.
      }
    }
  }

  get(topic: string, partition: number): bigint | undefined {
    return this.positions.get(PositionStore.key(topic, partition));
  }

  /** Call once the transaction holding `record(...)` committed. */
  set(topic: string, partition: number, next: bigint): void {
    this.positions.set(PositionStore.key(topic, partition), next);
  }

  record(topic: string, partition: number, next: bigint): Message {
    return { key: PositionStore.key(topic, partition), value: JSON.stringify({ offset: next.toString(), at: new Date().toISOString() }) };
  }

  get size(): number {
    return this.positions.size;
  }
}

/**
 * Exactly-once: source offsets already committed on the target, waiting to be committed to the source
 * group now and then rather than after every batch (a round trip on the batch's path). The group
 * offset is only where a new owner starts reading; PositionStore filters what it reads again.
 */
export class GroupOffsetsDue {
  private readonly due = new Map<string, { topic: string; partition: number; offset: string }>();

  set(topic: string, partition: number, next: bigint): void {
    this.due.set(`${partition}\u0000${topic}`, { topic, partition, offset: next.toString() });
  }

  /** The offsets due since the last take (emptied). */
  take(): Array<{ topic: string; partition: number; offset: string }> {
    const offsets = [...this.due.values()];
    this.due.clear();
    return offsets;
  }
}
