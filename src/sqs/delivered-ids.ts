/**
 * The idempotency window of an SQS namespace: ids delivered within `windowMs`, per process. SQS
 * standard queues deliver at least once and FIFO queues take no per-message delay, so wal keeps its
 * own record. In memory and bounded (the oldest ids go first past `maxIds`): it covers the re-deliveries
 * a receiver sees (a failed delete, a visibility timeout that ran out), not ids across restarts or
 * instances; a target's idempotency key (wal-id) covers the rest.
 */
export class DeliveredIds {
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxIds = 200_000,
  ) {}

  has(id: string, now: number): boolean {
    const expiry = this.expiries.get(id);
    if (expiry === undefined) return false;
    if (expiry > now) return true;
    this.expiries.delete(id);
    return false;
  }

  remember(id: string, now: number): void {
    if (this.windowMs <= 0) return;
    this.expiries.delete(id);
    this.expiries.set(id, now + this.windowMs);
    // Insertion order is expiry order (one window for all): the first ones are the oldest.
    for (const [first, expiry] of this.expiries) {
      if (this.expiries.size <= this.maxIds && expiry > now) break;
      this.expiries.delete(first);
    }
  }
}
