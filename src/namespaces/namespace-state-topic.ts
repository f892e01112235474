import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { applyTopics, type ApplyResult, type DriftReport } from '../kafka/apply';
import { readPartitionRange } from '../kafka/partition-reader';
import type { Logger } from '../observability/logger';
import {
  applyStateChange,
  DEFAULT_NAMESPACE_STATE,
  encodeNamespaceState,
  NAMESPACE_STATE_TOPIC,
  namespaceStateTopicSpec,
  parseNamespaceState,
  type NamespaceState,
  type NamespaceStateChange,
} from './namespace-state';

/** The state topic could not be read or written in time; trying again later can help. */
export class NamespaceStateUnavailableError extends Error {
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NamespaceStateUnavailableError';
  }
}

export const DEFAULT_STATE_READ_TIMEOUT_MS = 10_000;

export interface NamespaceStateReaderOptions {
  readonly kafka: Kafka;
  /** Bound on one refresh: listing the topic, its end offset and reading what was appended (default 10 s). */
  readonly timeoutMs?: number;
  readonly logger?: Pick<Logger, 'warn'>;
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NamespaceStateUnavailableError(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Follows the state topic of one cluster: the first refresh reads it from its start, later ones only
 * what was appended since (one ListOffsets request when nothing was). A missing topic means "no
 * namespace has a state": everything runs and takes writes.
 */
export class NamespaceStateReader {
  private admin?: Admin;
  private position = 0n;
  private topicSeen = false;
  private loaded = false;
  private inflight?: Promise<boolean>;
  private readonly states = new Map<string, NamespaceState>();
  private readonly timeoutMs: number;

  constructor(private readonly options: NamespaceStateReaderOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_STATE_READ_TIMEOUT_MS;
  }

  /** True once a refresh completed: `get` then answers from the topic, not from the default. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  /** The namespace's state as last read (running and taking writes when it has none). */
  get(namespace: string): NamespaceState {
    return this.states.get(namespace) ?? DEFAULT_NAMESPACE_STATE;
  }

  all(): ReadonlyMap<string, NamespaceState> {
    return this.states;
  }

  /**
   * Reads what was appended since the last refresh; true when a namespace's state changed. Rejects
   * with NamespaceStateUnavailableError after `timeoutMs` (a read still running is awaited by the next call).
   */
  refresh(): Promise<boolean> {
    this.inflight ??= this.read().finally(() => (this.inflight = undefined));
    return withDeadline(this.inflight, this.timeoutMs, `reading ${NAMESPACE_STATE_TOPIC}`);
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
  }

  private async read(): Promise<boolean> {
    const admin = this.admin ?? (this.admin = this.options.kafka.admin());
    try {
      await admin.connect();
      if (!this.topicSeen) {
        if (!(await admin.listTopics()).includes(NAMESPACE_STATE_TOPIC)) {
          this.loaded = true;
          return false;
        }
        this.topicSeen = true;
      }
      const partition = (await admin.fetchTopicOffsets(NAMESPACE_STATE_TOPIC)).find((o) => o.partition === 0);
      if (!partition) throw new NamespaceStateUnavailableError(`${NAMESPACE_STATE_TOPIC} has no partition 0`);
      const low = BigInt(partition.low);
      const end = BigInt(partition.high);
      let changed = false;
      // A topic deleted and created again starts over.
      if (end < this.position) {
        changed = this.states.size > 0;
        this.states.clear();
        this.position = 0n;
      }
      if (this.position < low) this.position = low;
      if (this.position < end) {
        await readPartitionRange(this.options.kafka, {
          topic: NAMESPACE_STATE_TOPIC,
          partition: 0,
          from: this.position.toString(),
          until: end.toString(),
          stallTimeoutMs: this.timeoutMs,
          onStall: (at) => new NamespaceStateUnavailableError(`reading ${NAMESPACE_STATE_TOPIC} made no progress for ${this.timeoutMs} ms at offset ${at}`),
          onRecords: async (messages) => {
            for (const m of messages) changed = this.apply(m) || changed;
          },
        });
        this.position = end;
      }
      this.loaded = true;
      return changed;
    } catch (error) {
      // Its connections may be dead: the next refresh starts with a new client.
      if (this.admin === admin) this.admin = undefined;
      void admin.disconnect().catch(() => undefined);
      throw error instanceof NamespaceStateUnavailableError ? error : new NamespaceStateUnavailableError(`reading ${NAMESPACE_STATE_TOPIC} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
  }

  private apply(message: KafkaMessage): boolean {
    if (message.key === null) return false;
    const namespace = message.key.toString();
    const before = this.states.get(namespace);
    if (message.value === null) {
      this.states.delete(namespace);
      return before !== undefined && (before.paused || before.bypass);
    }
    let state: NamespaceState;
    try {
      state = parseNamespaceState(message.value);
    } catch (error) {
      this.options.logger?.warn({ namespace, offset: message.offset, err: error }, 'ignoring a record of the namespace state topic that is not a namespace state');
      return false;
    }
    this.states.set(namespace, state);
    const previous = before ?? DEFAULT_NAMESPACE_STATE;
    return previous.paused !== state.paused || previous.bypass !== state.bypass;
  }
}

/** Every namespace state of one cluster (namespaces without a record are absent). */
export async function readNamespaceStates(kafka: Kafka, timeoutMs = DEFAULT_STATE_READ_TIMEOUT_MS): Promise<ReadonlyMap<string, NamespaceState>> {
  const reader = new NamespaceStateReader({ kafka, timeoutMs });
  try {
    await reader.refresh();
    return reader.all();
  } finally {
    await reader.close();
  }
}

export interface StateWrite {
  readonly state: NamespaceState;
  readonly previous: NamespaceState;
  /** The state topic was missing and this write created it. */
  readonly createdTopic: boolean;
  /** The topic exists with other settings than wal plans (not changed). */
  readonly drift: DriftReport[];
}

/**
 * Sets a namespace's state on its cluster: creates the state topic when missing, reads the current
 * record (so `pause` keeps `bypass` and the reverse) and appends the new one with acks=all. Two
 * operators changing the same namespace at once: the last append wins.
 */
export async function writeNamespaceState(
  kafka: Kafka,
  target: { readonly namespace: string; readonly cluster: string; readonly replicationFactor: number },
  change: NamespaceStateChange,
  by: string,
  now = new Date(),
): Promise<StateWrite> {
  const admin = kafka.admin();
  await admin.connect();
  let applied: ApplyResult;
  try {
    applied = await applyTopics(admin, [namespaceStateTopicSpec(target.cluster, target.replicationFactor)]);
  } finally {
    await admin.disconnect();
  }
  const current = (await readNamespaceStates(kafka)).get(target.namespace) ?? DEFAULT_NAMESPACE_STATE;
  const state = applyStateChange(current, change, by, now);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic: NAMESPACE_STATE_TOPIC, acks: -1, messages: [{ key: target.namespace, value: encodeNamespaceState(state) }] });
  } finally {
    await producer.disconnect();
  }
  return { state, previous: current, createdTopic: applied.created.length > 0, drift: applied.drift };
}
