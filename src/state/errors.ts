/** Errors of the state layer. `retriable` says whether trying again can help. */

export class StateError extends Error {
  readonly retriable: boolean;
  constructor(message: string, retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.retriable = retriable;
  }
}

/** The LevelDB under a store could not be opened (another process holds its lock, corrupt files, …). */
export class StoreOpenError extends StateError {
  constructor(location: string, cause: unknown) {
    super(`cannot open state store at ${location}: ${cause instanceof Error ? cause.message : String(cause)}`, true, { cause });
  }
}

/** A store was used after its task closed it. */
export class StoreClosedError extends StateError {
  constructor(name: string) {
    super(`state store "${name}" is closed`, false);
  }
}

/** Replaying a changelog did not reach its end offset in time. */
export class RestoreTimeoutError extends StateError {
  constructor(topic: string, partition: number, position: string, end: string, timeoutMs: number) {
    super(`restoring ${topic}[${partition}] stalled at offset ${position} of ${end} for ${timeoutMs} ms`, true);
  }
}

/** A changelog topic exists with a layout that cannot hold the store (wrong partition count, not compacted). */
export class ChangelogTopicError extends StateError {
  constructor(message: string) {
    super(message, false);
  }
}

/** The checkpoint file is unreadable; the store is rebuilt from its changelog. */
export class CheckpointCorruptError extends StateError {
  constructor(file: string, cause: unknown) {
    super(`checkpoint ${file} is unreadable: ${cause instanceof Error ? cause.message : String(cause)}`, false, { cause });
  }
}
