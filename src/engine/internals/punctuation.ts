import type { Cancellable, Punctuator } from '../api';
import { RuntimeError } from '../errors';

interface Schedule {
  readonly intervalMs: number;
  readonly punctuator: Punctuator;
  timer?: NodeJS.Timeout;
  cancelled: boolean;
}

/**
 * Wall-clock schedules of one task. Timers run whether or not records arrive (an idle partition
 * still fires its due timers). A run never overlaps the previous one of the same schedule: the next
 * is armed only after it finished. `run` executes the punctuator under the task's lock.
 */
export class PunctuationScheduler {
  private readonly schedules = new Set<Schedule>();
  private started = false;
  private stopped = false;

  constructor(private readonly run: (punctuator: Punctuator) => Promise<void>) {}

  schedule(intervalMs: number, punctuator: Punctuator): Cancellable {
    if (!Number.isFinite(intervalMs) || intervalMs < 1) {
      throw new RuntimeError(`schedule interval must be a positive number of ms, got ${intervalMs}`, false);
    }
    const entry: Schedule = { intervalMs, punctuator, cancelled: false };
    this.schedules.add(entry);
    if (this.started) this.arm(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
        clearTimeout(entry.timer);
        this.schedules.delete(entry);
      },
    };
  }

  /** Schedules declared during `init` start firing once the task is restored and running. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const entry of this.schedules) this.arm(entry);
  }

  stop(): void {
    this.stopped = true;
    for (const entry of this.schedules) clearTimeout(entry.timer);
    this.schedules.clear();
  }

  private arm(entry: Schedule): void {
    if (this.stopped || entry.cancelled) return;
    entry.timer = setTimeout(() => {
      void this.run(entry.punctuator).finally(() => this.arm(entry));
    }, entry.intervalMs);
    entry.timer.unref();
  }
}
