/** Public shapes of the WriteToLog API: the library (writer.ts), the HTTP server and the CLI share them. */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What a caller may send as a payload: bytes as is, a string as UTF-8, anything else as JSON. */
export type PayloadInput = Buffer | Uint8Array | string | JsonValue;

export interface MutationInput {
  readonly target: string;
  readonly key: string;
  readonly op: 'PUT' | 'DELETE';
  /** Required for PUT, absent for DELETE; encoded like a payload. */
  readonly value?: PayloadInput;
  readonly sequence: number;
}

export interface WriteRequest {
  readonly namespace: string;
  /** Idempotency key; generated (UUID) when absent. Reuse it when retrying an `unknown` write. */
  readonly id?: string;
  /** Give delayMs or deliverAt (epoch ms or ISO-8601), not both; neither means the namespace default. */
  readonly lifecycle?: { readonly delayMs?: number; readonly deliverAt?: number | string };
  /** Optional only when `mutations` are given. */
  readonly payload?: PayloadInput;
  /** Defaults by payload kind: application/octet-stream, text/plain; charset=utf-8, application/json. */
  readonly contentType?: string;
  readonly target?: string;
  readonly headers?: Record<string, string>;
  readonly mutations?: MutationInput[];
}

/**
 * `true`: acknowledged by the broker (acks=all). `false`: definitely not written; `message` says why.
 * `unknown`: the send began but its outcome was lost; retrying with the same id is safe (ids dedupe).
 */
export type Durability = 'true' | 'false' | 'unknown';

/** Machine-readable cause of a `false` or `unknown` result (the HTTP status is derived from it). */
export type FailureReason =
  | 'invalid-request'
  | 'unknown-namespace'
  | 'payload-too-large'
  | 'schema-rejected'
  | 'registry-unavailable'
  | 'broker-unavailable'
  | 'rejected-by-broker'
  | 'writer-closed'
  | 'timeout'
  | 'connection-lost'
  /** `wal namespace bypass <ns> --on`: the WAL takes no writes for the namespace (HTTP 409). */
  | 'namespace-bypassed';

export interface WriteResult {
  readonly durable: Durability;
  readonly message: string;
  readonly id: string;
  readonly partition?: number;
  /** Kafka offset as a decimal string (int64). */
  readonly offset?: string;
  readonly reason?: FailureReason;
}
