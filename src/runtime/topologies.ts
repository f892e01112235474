import type { NamespaceConfig } from '../config/types';
import { TopologyError } from './errors';
import type { Processor, ProcessorContext, WalRecord } from './api';
import { TopologyBuilder, type Topology } from './topology';

/**
 * Which topology a namespace runs. Processor issues register theirs here (delayed queue, fan-out,
 * mirror); until then the only one is `passthrough`: intake → a sink topic, unchanged, which is
 * what the engine benchmark and smoke tests use.
 */
export type TopologyFactory = (namespace: NamespaceConfig, options: Record<string, string>) => Topology;

const registry = new Map<string, TopologyFactory>();

export function registerTopology(name: string, factory: TopologyFactory): void {
  if (registry.has(name)) throw new TopologyError(`topology "${name}" is registered twice`);
  registry.set(name, factory);
}

export function registeredTopologies(): string[] {
  return [...registry.keys()].sort();
}

/**
 * The topology for `namespace`: `name` picks a registered one (default `passthrough` for now).
 * `options` carry topology-specific settings (passthrough: `output` topic, default `wal.<ns>.out`).
 */
export function topologyFor(namespace: NamespaceConfig, name = 'passthrough', options: Record<string, string> = {}): Topology {
  const factory = registry.get(name);
  if (!factory) throw new TopologyError(`unknown topology "${name}" for namespace ${namespace.name}; registered: ${registeredTopologies().join(', ')}`);
  return factory(namespace, options);
}

class PassthroughProcessor implements Processor {
  private context!: ProcessorContext;
  init(context: ProcessorContext): void {
    this.context = context;
  }
  process(record: WalRecord): void {
    this.context.forward({ key: record.key, value: record.value, headers: record.headers, timestamp: record.timestamp });
  }
}

/** Copies every intake record, key, value and headers included, to the output topic. */
export function passthroughTopology(input: string, output: string, deadLetterTopic?: string): Topology {
  const builder = new TopologyBuilder()
    .addSource('intake', input)
    .addProcessor('pass', () => new PassthroughProcessor(), 'intake')
    .addSink('out', output, 'pass');
  if (deadLetterTopic) builder.setDeadLetterTopic(deadLetterTopic);
  return builder.build();
}

registerTopology('passthrough', (ns, options) =>
  passthroughTopology(ns.topics.intake, options.output ?? `wal.${ns.name}.out`, ns.dlq.enabled ? ns.topics.dlq : undefined),
);
