/**
 * How far one source partition is mirrored (pure; time passed in). Lag in records is the source's
 * end offset minus the next offset to mirror. Lag in seconds is an upper bound on how old the oldest
 * unmirrored record is: it was written after the last mirrored record and after the last moment the
 * partition was seen caught up, so its age is at most `now` minus the later of the two.
 */

export interface PartitionLag {
  readonly records: number | null;
  readonly seconds: number | null;
}

export class PartitionProgress {
  /** Next source offset to mirror (everything below is acked by the target or deliberately skipped). */
  position: bigint | undefined;
  highWatermark: bigint | undefined;
  mirrored = 0;
  skipped = 0;
  private lastMirroredTimestamp: number | undefined;
  private caughtUpAt: number | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Records up to `next - 1` are done; `lastTimestamp` is the create time of the last one. */
  advance(next: bigint, lastTimestamp: number | undefined, mirrored: number, skipped: number, now: number): void {
    if (this.position === undefined || next > this.position) this.position = next;
    if (lastTimestamp !== undefined && (this.lastMirroredTimestamp === undefined || lastTimestamp > this.lastMirroredTimestamp)) {
      this.lastMirroredTimestamp = lastTimestamp;
    }
    this.mirrored += mirrored;
    this.skipped += skipped;
    this.checkCaughtUp(now);
  }

  /** A position known without mirroring (committed offset at start, stored EOS position). */
  assume(position: bigint, now: number): void {
    if (this.position === undefined) this.position = position;
    this.checkCaughtUp(now);
  }

  observeHighWatermark(highWatermark: bigint, now: number): void {
    this.highWatermark = highWatermark;
    this.checkCaughtUp(now);
  }

  lag(now: number): PartitionLag {
    if (this.position === undefined || this.highWatermark === undefined) return { records: null, seconds: null };
    const records = this.highWatermark > this.position ? Number(this.highWatermark - this.position) : 0;
    if (records === 0) return { records, seconds: 0 };
    const since = Math.max(this.lastMirroredTimestamp ?? -Infinity, this.caughtUpAt ?? -Infinity);
    return { records, seconds: Number.isFinite(since) ? Math.max(0, now - since) / 1000 : null };
  }

  private checkCaughtUp(now: number): void {
    if (this.position !== undefined && this.highWatermark !== undefined && this.position >= this.highWatermark) this.caughtUpAt = now;
  }
}
