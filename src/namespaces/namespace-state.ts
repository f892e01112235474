import type { TopicSpec } from '../kafka/apply';

/**
 * A namespace's operational state, set by `wal namespace pause|resume|bypass` and followed by every
 * `wal start` instance and every writer. Like Kafka Connect's connector target state, it lives in a
 * compacted topic (one record per namespace, the latest wins), so it survives restarts and reaches
 * every process without a coordinator.
 */
export interface NamespaceState {
  /** Runners fetch no source record and run no punctuation (no timer fires, no chunk is applied). */
  readonly paused: boolean;
  /** Writers refuse writes to the namespace (the WAL is switched off for it). */
  readonly bypass: boolean;
  /** When it was last set (ISO-8601). */
  readonly updatedAt: string;
  /** Who set it (`user@host`, or what `--by` said). */
  readonly by: string;
}

/** One compacted topic per cluster holds the state of every namespace on it, keyed by namespace name. */
export const NAMESPACE_STATE_TOPIC = 'wal.namespace-state';

/** What a namespace without a record is: running, taking writes. */
export const DEFAULT_NAMESPACE_STATE: NamespaceState = Object.freeze({ paused: false, bypass: false, updatedAt: '', by: '' });

/** A record of the state topic that is not a namespace state (hand-written, or from a newer wal). */
export class NamespaceStateFormatError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'NamespaceStateFormatError';
  }
}

/** Parses a record value; rejects anything but `{paused: boolean, bypass: boolean, updatedAt: string, by: string}` (extra fields ignored). */
export function parseNamespaceState(value: Buffer | string): NamespaceState {
  let doc: unknown;
  try {
    doc = JSON.parse(value.toString());
  } catch (error) {
    throw new NamespaceStateFormatError(`namespace state is not JSON: ${(error as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new NamespaceStateFormatError('namespace state is not a JSON object');
  const { paused, bypass, updatedAt, by } = doc as Record<string, unknown>;
  if (typeof paused !== 'boolean') throw new NamespaceStateFormatError('namespace state: "paused" must be true or false');
  if (typeof bypass !== 'boolean') throw new NamespaceStateFormatError('namespace state: "bypass" must be true or false');
  if (typeof updatedAt !== 'string') throw new NamespaceStateFormatError('namespace state: "updatedAt" must be a string');
  if (typeof by !== 'string') throw new NamespaceStateFormatError('namespace state: "by" must be a string');
  return { paused, bypass, updatedAt, by };
}

export function encodeNamespaceState(state: NamespaceState): Buffer {
  return Buffer.from(JSON.stringify({ paused: state.paused, bypass: state.bypass, updatedAt: state.updatedAt, by: state.by }));
}

/** What `wal namespace pause|resume|bypass` changes; the other flag keeps its current value. */
export type NamespaceStateChange = Partial<Pick<NamespaceState, 'paused' | 'bypass'>>;

export function applyStateChange(current: NamespaceState | undefined, change: NamespaceStateChange, by: string, now: Date): NamespaceState {
  const base = current ?? DEFAULT_NAMESPACE_STATE;
  return { paused: change.paused ?? base.paused, bypass: change.bypass ?? base.bypass, updatedAt: now.toISOString(), by };
}

/**
 * The state topic on one cluster: one partition (one total order, and a reader reads a single
 * partition cheaply), compacted (the latest record per namespace is all that matters).
 */
export function namespaceStateTopicSpec(cluster: string, replicationFactor: number): TopicSpec {
  return {
    topic: NAMESPACE_STATE_TOPIC,
    cluster,
    role: 'namespace-state',
    partitions: 1,
    replicationFactor,
    configs: { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.1', 'segment.ms': String(6 * 3600 * 1000) },
  };
}
