import type { DecoderSupplier, ErrorPolicy, LocalIndex, ProcessorSupplier, SourceOptions, StoreOptions, TopicChooser } from './api';
import { TopologyError } from './errors';

export interface SourceNode {
  readonly kind: 'source';
  readonly name: string;
  readonly topics: readonly string[];
  readonly decoder?: DecoderSupplier;
}

export interface ProcessorNode {
  readonly kind: 'processor';
  readonly name: string;
  readonly supplier: ProcessorSupplier;
  readonly parents: readonly string[];
}

export interface SinkNode {
  readonly kind: 'sink';
  readonly name: string;
  readonly topic: TopicChooser;
  readonly parents: readonly string[];
}

export type TopologyNode = SourceNode | ProcessorNode | SinkNode;

export interface StoreSpec {
  readonly name: string;
  /** null = local only; otherwise the topic name, or undefined for the default `<applicationId>.<store>-changelog`. */
  readonly changelog: { readonly topic?: string } | null;
  readonly processors: readonly string[];
  readonly localIndex?: LocalIndex;
}

/** A validated, immutable processing graph. One is instantiated per task (processor suppliers run per task). */
export interface Topology {
  readonly nodes: ReadonlyMap<string, TopologyNode>;
  /** Child node names of every node, in declaration order. */
  readonly children: ReadonlyMap<string, readonly string[]>;
  readonly stores: ReadonlyMap<string, StoreSpec>;
  /** All topics read by source nodes; they must be co-partitioned (a task owns partition p of each). */
  readonly sourceTopics: readonly string[];
  readonly deadLetterTopic?: string;
  readonly errorPolicy?: ErrorPolicy;
  /** Changelog topic of a store for an application id (`wal.<namespace>`). */
  changelogTopic(store: string, applicationId: string): string | null;
}

/** Declares sources → processors → sinks, plus stores and the error handling of a topology. */
export class TopologyBuilder {
  private readonly nodes = new Map<string, TopologyNode>();
  private readonly stores = new Map<string, StoreSpec>();
  private deadLetterTopic?: string;
  private errorPolicy?: ErrorPolicy;

  /** A source of `topics`; with `options.decoder`, its children receive each record decoded once. */
  addSource(name: string, topics: string | string[], options: SourceOptions = {}): this {
    const list = Array.isArray(topics) ? topics : [topics];
    if (list.length === 0 || list.some((t) => !t)) throw new TopologyError(`source "${name}" needs at least one topic name`);
    this.add({ kind: 'source', name, topics: list, decoder: options.decoder });
    return this;
  }

  addProcessor(name: string, supplier: ProcessorSupplier, ...parents: string[]): this {
    this.add({ kind: 'processor', name, supplier, parents: this.checkParents(name, parents) });
    return this;
  }

  addSink(name: string, topic: TopicChooser, ...parents: string[]): this {
    if (typeof topic === 'string' && !topic) throw new TopologyError(`sink "${name}" needs a topic name`);
    this.add({ kind: 'sink', name, topic, parents: this.checkParents(name, parents) });
    return this;
  }

  addStore(name: string, options: StoreOptions, ...processorNames: string[]): this {
    if (!name || /[/\\]/.test(name) || name.startsWith('.')) throw new TopologyError(`store name "${name}" must be a plain file name`);
    if (this.stores.has(name)) throw new TopologyError(`store "${name}" is declared twice`);
    if (processorNames.length === 0) throw new TopologyError(`store "${name}" is connected to no processor`);
    for (const p of processorNames) {
      if (this.nodes.get(p)?.kind !== 'processor') throw new TopologyError(`store "${name}": "${p}" is not a processor declared before it`);
    }
    const changelog =
      options.changelog === false ? null : options.changelog === true ? {} : { topic: requireTopic(name, options.changelog.topic) };
    if (options.localIndex && !changelog) throw new TopologyError(`store "${name}": a local index needs a changelog to be derived from`);
    this.stores.set(name, { name, changelog, processors: processorNames, ...(options.localIndex ? { localIndex: options.localIndex } : {}) });
    return this;
  }

  /** Where the default error policy sends records whose processing threw. */
  setDeadLetterTopic(topic: string): this {
    this.deadLetterTopic = requireTopic('dead-letter', topic);
    return this;
  }

  setErrorPolicy(policy: ErrorPolicy): this {
    this.errorPolicy = policy;
    return this;
  }

  build(): Topology {
    const sources = [...this.nodes.values()].filter((n): n is SourceNode => n.kind === 'source');
    if (sources.length === 0) throw new TopologyError('a topology needs at least one source');
    const children = new Map<string, string[]>([...this.nodes.keys()].map((n) => [n, []]));
    for (const node of this.nodes.values()) {
      if (node.kind !== 'source') for (const p of node.parents) children.get(p)!.push(node.name);
    }
    const sourceTopics = [...new Set(sources.flatMap((s) => s.topics))];
    if (sourceTopics.length !== sources.reduce((n, s) => n + s.topics.length, 0)) {
      throw new TopologyError('a topic is read by more than one source');
    }
    const stores = new Map(this.stores);
    return {
      nodes: new Map(this.nodes),
      children,
      stores,
      sourceTopics,
      deadLetterTopic: this.deadLetterTopic,
      errorPolicy: this.errorPolicy,
      changelogTopic(store, applicationId) {
        const spec = stores.get(store);
        if (!spec) throw new TopologyError(`unknown store "${store}"`);
        if (!spec.changelog) return null;
        return spec.changelog.topic ?? `${applicationId}.${store}-changelog`;
      },
    };
  }

  private add(node: TopologyNode): void {
    if (!node.name) throw new TopologyError(`a ${node.kind} needs a name`);
    if (this.nodes.has(node.name)) throw new TopologyError(`node "${node.name}" is declared twice`);
    this.nodes.set(node.name, node);
  }

  private checkParents(name: string, parents: string[]): string[] {
    if (parents.length === 0) throw new TopologyError(`"${name}" needs at least one parent`);
    for (const p of parents) {
      const parent = this.nodes.get(p);
      if (!parent) throw new TopologyError(`"${name}": parent "${p}" is not declared (declare parents first)`);
      if (parent.kind === 'sink') throw new TopologyError(`"${name}": parent "${p}" is a sink, which has no children`);
    }
    return parents;
  }
}

function requireTopic(what: string, topic: string | undefined): string {
  if (!topic) throw new TopologyError(`${what}: topic name must not be empty`);
  return topic;
}
