/** Where changelog records go: the task's record collector (same flush/commit unit as its sink output). */
export interface ChangelogSink {
  sendChangelog(topic: string, partition: number, key: Buffer, value: Buffer | null): void;
}

/**
 * Emits one store partition's writes to its changelog partition (value null = tombstone, so the
 * compacted topic forgets deleted keys) and remembers how far the changelog is known to be durable,
 * which is what the checkpoint records.
 */
export class ChangelogWriter {
  private durableNext: bigint;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly sink: ChangelogSink,
    /** Changelog end offset after restore: the local store already holds everything below it. */
    restoredEnd: string,
  ) {
    this.durableNext = BigInt(restoredEnd);
  }

  append(key: Buffer, value: Buffer | null): void {
    this.sink.sendChangelog(this.topic, this.partition, key, value);
  }

  /** Called when the broker acknowledged writes up to (excluding) `nextOffset`. */
  acknowledge(nextOffset: string): void {
    const next = BigInt(nextOffset);
    if (next > this.durableNext) this.durableNext = next;
  }

  /** Offset to checkpoint: every changelog record below it is both durable in Kafka and applied locally. */
  checkpointOffset(): string {
    return this.durableNext.toString();
  }
}
