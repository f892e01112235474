import type { Cancellable, Clock, Punctuator } from '../api';
import { RuntimeError } from '../errors';

/** The wall-clock schedules of one task, as the task drives them. */
export interface Punctuation {
  schedule(intervalMs: number, punctuator: Punctuator): Cancellable;
  /** Schedules declared during `init` start counting their interval once the task is restored and running. */
  start(): void;
  stop(): void;
}

/** Makes a task's punctuation; `run` executes a punctuator under the task's lock and flushes its output. */
export type PunctuationFactory = (run: (punctuator: Punctuator) => Promise<void>) => Punctuation;

interface Schedule {
  readonly intervalMs: number;
  readonly punctuator: Punctuator;
  timer?: NodeJS.Timeout;
  cancelled: boolean;
}

function checkInterval(intervalMs: number): void {
  if (!Number.isFinite(intervalMs) || intervalMs < 1) {
    throw new RuntimeError(`schedule interval must be a positive number of ms, got ${intervalMs}`, false);
  }
}

/**
 * Wall-clock schedules of one task. Timers run whether or not records arrive (an idle partition
 * still fires its due timers). A run never overlaps the previous one of the same schedule: the next
 * is armed only after it finished. `run` executes the punctuator under the task's lock.
 */
export class PunctuationScheduler implements Punctuation {
  private readonly schedules = new Set<Schedule>();
  private started = false;
  private stopped = false;

  constructor(private readonly run: (punctuator: Punctuator) => Promise<void>) {}

  schedule(intervalMs: number, punctuator: Punctuator): Cancellable {
    checkInterval(intervalMs);
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

/** A clock that moves only when told to (the test driver's wall clock). */
export class ManualClock implements Clock {
  constructor(private time: number) {}
  now(): number {
    return this.time;
  }
  set(time: number): void {
    this.time = time;
  }
}

interface ManualSchedule {
  readonly intervalMs: number;
  readonly punctuator: Punctuator;
  /** When it fires next; undefined until the punctuation started. */
  dueAt?: number;
}

/**
 * The same schedule semantics as PunctuationScheduler, on a ManualClock: a schedule fires every
 * `intervalMs` of elapsed time, counted from its start and re-armed after each run. `advanceTo` moves
 * the clock from one firing to the next, so each punctuator sees the time it would have run at.
 */
export class ManualPunctuation implements Punctuation {
  private readonly schedules: ManualSchedule[] = [];
  private started = false;
  private stopped = false;

  constructor(
    private readonly clock: ManualClock,
    private readonly run: (punctuator: Punctuator) => Promise<void>,
  ) {}

  schedule(intervalMs: number, punctuator: Punctuator): Cancellable {
    checkInterval(intervalMs);
    const entry: ManualSchedule = { intervalMs, punctuator };
    if (this.started) entry.dueAt = this.clock.now() + intervalMs;
    this.schedules.push(entry);
    return {
      cancel: () => {
        const i = this.schedules.indexOf(entry);
        if (i >= 0) this.schedules.splice(i, 1);
      },
    };
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const entry of this.schedules) entry.dueAt = this.clock.now() + entry.intervalMs;
  }

  stop(): void {
    this.stopped = true;
    this.schedules.length = 0;
  }

  /** Fires every schedule due up to `time`, earliest first (declaration order on a tie), then sets the clock to `time`. */
  async advanceTo(time: number): Promise<void> {
    for (let next = this.nextDue(time); next; next = this.nextDue(time)) {
      this.clock.set(next.dueAt!);
      await this.run(next.punctuator);
      if (this.schedules.includes(next)) next.dueAt = this.clock.now() + next.intervalMs;
    }
    this.clock.set(Math.max(time, this.clock.now()));
  }

  private nextDue(time: number): ManualSchedule | undefined {
    let next: ManualSchedule | undefined;
    for (const entry of this.schedules) {
      if (entry.dueAt !== undefined && entry.dueAt <= time && (!next || entry.dueAt < next.dueAt!)) next = entry;
    }
    return next;
  }
}
