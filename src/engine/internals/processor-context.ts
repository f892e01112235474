import type { Cancellable, KeyValueStore, OutputRecord, ProcessorContext, Punctuator, WalRecord } from '../api';
import { TopologyError } from '../errors';

/** What a node's context needs from its task. */
export interface ContextHost {
  readonly namespace: string;
  readonly partition: number;
  /** Metadata of the input record being processed, or of the punctuation in progress. */
  current(): WalRecord;
  forward(from: string, record: OutputRecord, to?: string): void;
  schedule(intervalMs: number, punctuator: Punctuator): Cancellable;
  store(name: string): KeyValueStore | undefined;
  now(): number;
}

/** The context of one processor node in one task. */
export class NodeContext implements ProcessorContext {
  constructor(
    private readonly host: ContextHost,
    private readonly node: string,
    private readonly storeNames: ReadonlySet<string>,
  ) {}

  get namespace(): string {
    return this.host.namespace;
  }
  get partition(): number {
    return this.host.partition;
  }
  get topic(): string {
    return this.host.current().topic;
  }
  get offset(): string {
    return this.host.current().offset;
  }
  get headers(): Record<string, string> {
    return this.host.current().headers;
  }
  get timestamp(): number {
    return this.host.current().timestamp;
  }

  forward<R extends OutputRecord>(record: R, to?: string): void {
    this.host.forward(this.node, record, to);
  }

  schedule(intervalMs: number, punctuator: Punctuator): Cancellable {
    return this.host.schedule(intervalMs, punctuator);
  }

  getStore(name: string): KeyValueStore {
    const store = this.storeNames.has(name) ? this.host.store(name) : undefined;
    if (!store) throw new TopologyError(`processor "${this.node}" has no store "${name}" (connect it with addStore)`);
    return store;
  }

  now(): number {
    return this.host.now();
  }
}
