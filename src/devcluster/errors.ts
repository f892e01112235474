/**
 * Errors of the local cluster bring-up. Each says what failed and what to do; `retriable` tells a
 * caller whether trying again can help (a slow start can; a missing JDK cannot).
 */
export class DevClusterError extends Error {
  constructor(message: string, readonly retriable = false) {
    super(message);
    this.name = new.target.name;
  }
}

export class MissingToolError extends DevClusterError {}
export class ArtifactFetchError extends DevClusterError {}
export class ProcessStartError extends DevClusterError {}
export class ReadinessTimeoutError extends DevClusterError {
  constructor(message: string) {
    super(message, true);
  }
}
