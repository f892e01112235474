import type { KeyValueStore, LocalIndex } from '../state/store';

export type { KeyValueStore, LocalIndex, RangeOptions } from '../state/store';

/**
 * The processor-author surface of the engine, in the spirit of Kafka Streams' `processor/api`:
 * a processor sees records, a context and named stores; never a consumer, a producer or an offset
 * to commit. Everything behind it lives in `internals/` and `src/state/`.
 */

/** at-least-once: sinks, then changelogs, then offsets; exactly-once: all three in one Kafka transaction. */
export type ProcessingGuarantee = 'at-least-once' | 'exactly-once';

/**
 * What the engine needs to run one application (a namespace's topology): the engine knows no
 * namespace config; the personas map a namespace to these.
 */
export interface EngineOptions {
  /** Names the consumer group (`wal.<name>`), the state directory, metric labels and logs. */
  readonly name: string;
  readonly processingGuarantee: ProcessingGuarantee;
  /** Replication factor of the changelog topics the engine creates. */
  readonly replicationFactor: number;
  /** How often a task commits (sinks → changelogs → offsets). */
  readonly commitIntervalMs: number;
  /** Assigned partitions processed at once (kafkajs partitionsConsumedConcurrently), each in its own task. */
  readonly partitionConcurrency: number;
}

/** A record as a processor receives it. Buffers are the raw Kafka bytes; decoding is the processor's job. */
export interface WalRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Kafka headers decoded as UTF-8 (a repeated header keeps its last value). */
  readonly headers: Record<string, string>;
  /** Record timestamp (ms since epoch); forwarded records inherit it unless they set their own. */
  readonly timestamp: number;
  /** Input record this one descends from (the source topic/partition/offset; offset "-1" inside a punctuator). */
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/**
 * Turns a fetched record into what its source's children receive, once, at the edge of the topology
 * (Kafka Streams' source deserializer). The result keeps the record's metadata and may add fields (a
 * decoded value) that travel to child processors in-process; sinks write only key, value and headers.
 * A throw goes to the error policy with the record as fetched.
 */
export interface RecordDecoder<Out extends WalRecord = WalRecord> {
  decode(record: WalRecord): Promise<Out> | Out;
}

/** Called once per task, like a processor supplier (a decoder may hold a per-task schema cache). */
export type DecoderSupplier<Out extends WalRecord = WalRecord> = () => RecordDecoder<Out>;

export interface SourceOptions {
  readonly decoder?: DecoderSupplier;
}

/**
 * What a processor forwards (to child processors or sinks). Fields beyond these (e.g. a decoded
 * request) reach child processors as they are and are never written to a topic.
 */
export interface OutputRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Defaults to the headers of the input record being processed (as in Kafka Streams). */
  readonly headers?: Record<string, string>;
  /** Defaults to the input record's timestamp. */
  readonly timestamp?: number;
  /** Explicit output partition; by default a sink partitions by key (murmur2, as the Java client). */
  readonly partition?: number;
}

/** Called on wall-clock time, whether or not records arrive; `now` comes from the task's clock. */
export type Punctuator = (now: number) => Promise<void>;

/** Time source; tests inject a manual clock so that delays need not be slept through. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Stops a schedule created by {@link ProcessorContext.schedule}. */
export interface Cancellable {
  cancel(): void;
}

export interface ProcessorContext {
  /** Namespace this task runs for. */
  readonly namespace: string;
  /** The input partition this task owns. */
  readonly partition: number;
  /** Metadata of the input record being processed (in a punctuator: offset "-1", the task's first source topic). */
  readonly topic: string;
  readonly offset: string;
  readonly headers: Record<string, string>;
  readonly timestamp: number;
  /**
   * Passes a record to this node's children (or only to the child named `to`). Children run after
   * the current `process` call returns, in forwarding order; no need to await.
   */
  forward<R extends OutputRecord>(record: R, to?: string): void;
  /** Runs `punctuator` every `intervalMs` of wall-clock time while the task is open. */
  schedule(intervalMs: number, punctuator: Punctuator): Cancellable;
  /** A store connected to this processor with `TopologyBuilder.addStore`. */
  getStore(name: string): KeyValueStore;
  /** The task's clock. */
  now(): number;
}

export interface Processor<In = WalRecord> {
  init?(context: ProcessorContext): void | Promise<void>;
  process(record: In): Promise<void> | void;
  /**
   * Called before the task sends its output and commits its input offsets: a processor that batches
   * side effects (deliveries to an external target) completes them here, so that no offset is
   * committed before what its record caused is durable. It may forward.
   */
  flush?(): void | Promise<void>;
  close?(): void | Promise<void>;
}

export type ProcessorSupplier<In = WalRecord> = () => Processor<In>;

/** How a sink picks its topic: fixed, or per record. */
export type TopicChooser = string | ((record: WalRecord) => string);

export interface StoreOptions {
  /**
   * `true` = changelog topic `<applicationId>.<store>-changelog` (applicationId = `wal.<namespace>`);
   * `{ topic }` names it. Without a changelog the store is local only and lost with its disk.
   */
  readonly changelog: boolean | { readonly topic: string };
  /** A secondary index kept off the changelog; see LocalIndex. */
  readonly localIndex?: LocalIndex;
}


/** What the error policy may do with a record whose processing threw. */
export interface ErrorPolicyActions {
  /** Sends the failed input record to the topology's dead-letter topic in the one DLQ format (`src/wire/dlq.ts`, kind `error`). */
  deadLetter(reason: string): void;
  /** Sends any record to any topic, in the same commit unit as the task's other output. */
  send(topic: string, record: OutputRecord): void;
  /** The task's stores (e.g. a retry processor parks the record in its timer store). */
  getStore(name: string): KeyValueStore;
  readonly namespace: string;
  now(): number;
}

/**
 * Decides what happens to a record whose processing threw. The engine then treats the record as
 * processed (its offset is committed): a poison record never stops its partition. If the policy
 * itself throws, the engine logs and dead-letters the record (when a dead-letter topic is set).
 */
export type ErrorPolicy = (error: unknown, record: WalRecord, actions: ErrorPolicyActions) => Promise<void> | void;

