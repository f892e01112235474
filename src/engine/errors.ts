/** Errors of the engine. `retriable` says whether trying again (after a backoff) can help. */

export class RuntimeError extends Error {
  readonly retriable: boolean;
  constructor(message: string, retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.retriable = retriable;
  }
}

/** A topology that cannot run as declared (unknown parent, duplicate name, …). */
export class TopologyError extends RuntimeError {
  constructor(message: string) {
    super(message, false);
  }
}

/** A topic the topology reads does not exist, or its partitions do not match its co-partitioned peers. */
export class TopicLayoutError extends RuntimeError {
  constructor(message: string) {
    super(message, false);
  }
}

/** Sending output, committing or a transaction failed: the task is closed and re-opened from committed state. */
export class TaskFailedError extends RuntimeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
  }
}

/** Another instance now owns the task (its producer was fenced): drop the task, never commit for it again. */
export class TaskMigratedError extends RuntimeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
  }
}

/** Shutdown did not finish in time; the process exits anyway and the next start replays from the last commit. */
export class ShutdownTimeoutError extends RuntimeError {
  constructor(timeoutMs: number) {
    super(`shutdown did not finish within ${timeoutMs} ms`, false);
  }
}
