import type { Message, TopicMessages } from 'kafkajs';
import { createLogger, type Logger } from '../observability/logger';
import type { KeyValueStore, WalRecord } from './api';
import { RuntimeError, TopologyError } from './errors';
import { ManualClock, ManualPunctuation } from './internals/punctuation';
import { Task } from './internals/task';
import type { TaskOutput } from './internals/task-output';
import { inMemoryTaskStores, type TaskStateStores } from './internals/task-stores';
import type { Topology } from './topology';

/** A record to pipe into a source topic. Strings are taken as UTF-8. */
export interface TestInputRecord {
  readonly key?: Buffer | string | null;
  readonly value?: Buffer | string | null;
  readonly headers?: Record<string, string>;
  /** Default: the driver's clock. */
  readonly timestamp?: number;
  /** The record's offset in its partition (default: one past the previous record piped to the topic). */
  readonly offset?: number;
}

/** A record a sink (or the error policy's dead-lettering) sent. */
export interface TestOutputRecord {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
  /** The partition the processor chose; undefined = by key, as the producer's partitioner would pick. */
  readonly partition?: number;
  readonly timestamp: number;
}

export interface TopologyTestDriverOptions {
  /** Default "test". */
  readonly namespace?: string;
  /** The input partition the driven task owns (default 0). */
  readonly partition?: number;
  /** Where the wall clock starts, ms since epoch (default 0). */
  readonly startTime?: number;
  /** Default: silent. */
  readonly logger?: Logger;
}

/**
 * Runs a topology without a broker, in the spirit of Kafka Streams' TopologyTestDriver. It drives the
 * engine's own Task (the same routing, forwarding order, error policy and dead-lettering, processor
 * flush before each commit) on in-memory stores, an output that collects what would be produced, and
 * a manual wall clock: punctuators fire only when `advanceWallClockTime` moves it past them.
 */
export class TopologyTestDriver {
  private readonly offsets = new Map<string, bigint>();
  private readonly outputs = new Map<string, TestOutputRecord[]>();
  /** Punctuations whose output could not be flushed (what makes the runner close a task dirty). */
  private readonly failures: unknown[] = [];
  private readonly clock: ManualClock;
  private readonly stores: TaskStateStores;
  private task!: Task;
  private punctuation!: ManualPunctuation;

  private constructor(
    private readonly topology: Topology,
    private readonly options: TopologyTestDriverOptions,
  ) {
    this.clock = new ManualClock(options.startTime ?? 0);
    this.stores = inMemoryTaskStores(topology);
  }

  /** Builds the task: stores are created empty and every processor's `init` has run when this resolves. */
  static async create(topology: Topology, options: TopologyTestDriverOptions = {}): Promise<TopologyTestDriver> {
    const driver = new TopologyTestDriver(topology, options);
    await driver.open();
    return driver;
  }

  /**
   * Opens a new task on the same stores (closing the current one cleanly first, unless `close` did),
   * as when the partition moves to another instance: processors are created and initialised again
   * over the state they left.
   */
  async reopen(): Promise<void> {
    await this.close();
    await this.open();
  }

  /** The driver's wall clock (what processors get from `context.now()`). */
  now(): number {
    return this.clock.now();
  }

  /**
   * Processes one record, then commits (processors flush, output is collected), like the runner after
   * a batch. Rejects when the source topic is unknown or the commit failed (a processor's flush threw).
   */
  async pipeInput(topic: string, record: TestInputRecord): Promise<void> {
    await this.pipeInputs(topic, [record]);
  }

  /** Processes records as one fetched batch: each goes through the topology, then one commit. */
  async pipeInputs(topic: string, records: readonly TestInputRecord[]): Promise<void> {
    if (this.task.isClosed) throw new RuntimeError('the test driver is closed', false);
    await this.task.lock.runExclusive(async () => {
      for (const record of records) await this.task.process(this.walRecord(topic, record));
      await this.task.commit();
    });
  }

  /**
   * Moves the wall clock forward by `ms`, firing each punctuator at every interval it passes, at the
   * time it falls due. Rejects if a punctuation's output could not be flushed (the runner would
   * close the task dirty).
   */
  async advanceWallClockTime(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`advanceWallClockTime needs ms >= 0, got ${ms}`);
    await this.punctuation.advanceTo(this.clock.now() + ms);
    if (this.failures.length > 0) throw this.failures.shift();
  }

  /** The next record sent to `topic` not read yet, or undefined. */
  readOutput(topic: string): TestOutputRecord | undefined {
    return this.outputs.get(topic)?.shift();
  }

  /** Every record sent to `topic` not read yet, in order sent. */
  readAllOutput(topic: string): TestOutputRecord[] {
    const records = this.outputs.get(topic) ?? [];
    this.outputs.set(topic, []);
    return records;
  }

  /** Topics something was sent to and not read yet. */
  outputTopics(): string[] {
    return [...this.outputs].filter(([, records]) => records.length > 0).map(([topic]) => topic);
  }

  /** A store of the topology, with what processors wrote to it (in memory, keys in byte order). */
  getStore(name: string): KeyValueStore {
    const store = this.stores.stores.get(name);
    if (!store) throw new TopologyError(`the topology has no store "${name}" (stores: ${[...this.stores.stores.keys()].join(', ') || 'none'})`);
    return store;
  }

  /** Closes processors and commits what they forwarded on the way out. */
  async close(): Promise<void> {
    await this.task.close(true);
  }

  private async open(): Promise<void> {
    const { options, clock, stores } = this;
    this.task = await Task.open({
      namespace: options.namespace ?? 'test',
      partition: options.partition ?? 0,
      topology: this.topology,
      logger: options.logger ?? createLogger({}, { level: 'silent' }),
      clock,
      output: collectingOutput(this.outputs),
      loadCommitted: async () => new Map(),
      onFailure: (error) => void this.failures.push(error),
      openStores: async () => ({ stores, restored: 0 }),
      punctuation: (run) => (this.punctuation = new ManualPunctuation(clock, run)),
    });
  }

  private walRecord(topic: string, record: TestInputRecord): WalRecord {
    const offset = record.offset !== undefined ? BigInt(record.offset) : (this.offsets.get(topic) ?? 0n);
    this.offsets.set(topic, offset + 1n);
    return {
      key: toBuffer(record.key),
      value: toBuffer(record.value),
      headers: { ...record.headers },
      timestamp: record.timestamp ?? this.clock.now(),
      topic,
      partition: this.task.partition,
      offset: offset.toString(),
    };
  }
}

function toBuffer(data: Buffer | string | null | undefined): Buffer | null {
  if (data === undefined || data === null) return null;
  return typeof data === 'string' ? Buffer.from(data) : data;
}

/** A TaskOutput that keeps what would be produced, per topic; commits have nothing to make durable. */
function collectingOutput(outputs: Map<string, TestOutputRecord[]>): TaskOutput {
  return {
    guarantee: 'at-least-once',
    open: async () => undefined,
    send: async (batch: TopicMessages[]) => {
      for (const { topic, messages } of batch) {
        let list = outputs.get(topic);
        if (!list) outputs.set(topic, (list = []));
        for (const message of messages) list.push(outputRecord(topic, message));
      }
      return [];
    },
    commit: async () => undefined,
    abort: async () => undefined,
    close: async () => undefined,
  };
}

function outputRecord(topic: string, message: Message): TestOutputRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) if (value !== undefined) headers[name] = String(value);
  return {
    topic,
    key: toBuffer(message.key),
    value: toBuffer(message.value),
    headers,
    ...(message.partition !== undefined ? { partition: message.partition } : {}),
    timestamp: Number(message.timestamp),
  };
}
