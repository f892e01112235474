/** Errors of the mirror. `retriable` says whether trying again (after a backoff) can help. */

export class MirrorError extends Error {
  readonly retriable: boolean;
  constructor(message: string, retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.retriable = retriable;
  }
}

/** The namespace cannot be mirrored as configured (no `replication`, unknown cluster alias, …). */
export class MirrorConfigError extends MirrorError {
  constructor(message: string) {
    super(message, false);
  }
}

/** A target topic could not be created or inspected; the next discovery round tries again. */
export class MirrorTopicError extends MirrorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
  }
}

/** Producing to the target (or committing its transaction) failed: the batch is fetched again, never skipped. */
export class MirrorWriteError extends MirrorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
  }
}
