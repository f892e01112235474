import type { NamespaceConfig, WalConfig } from '../namespaces/types';
import { TopologyError } from './errors';
import type { Processor, ProcessorContext, WalRecord } from './api';
import { TopologyBuilder, type Topology } from './topology';

/**
 * Which topology a namespace runs. Processor issues register theirs here (delayed queue, fan-out,
 * mirror) with `appliesTo`, so `wal start` picks them for the namespaces they serve. `passthrough`
 * (intake → a sink topic, unchanged: the engine benchmark and smoke tests) never applies by itself;
 * it runs only when asked for by name.
 */
/** `config` gives processors that reach other clusters (Kafka targets, the schema registry) their aliases. */
export type TopologyFactory = (namespace: NamespaceConfig, options: Record<string, string>, config: WalConfig) => Topology;

interface Registration {
  readonly factory: TopologyFactory;
  readonly appliesTo?: (namespace: NamespaceConfig) => boolean;
}

const registry = new Map<string, Registration>();

export function registerTopology(name: string, factory: TopologyFactory, appliesTo?: (namespace: NamespaceConfig) => boolean): void {
  if (registry.has(name)) throw new TopologyError(`topology "${name}" is registered twice`);
  registry.set(name, { factory, appliesTo });
}

export function registeredTopologies(): string[] {
  return [...registry.keys()].sort();
}

/**
 * The topology for `namespace`: `name` picks a registered one; without it, the first registered
 * topology that applies to the namespace. `options` carry topology-specific settings
 * (passthrough: `output` topic, default `wal.<ns>.out`).
 */
export function topologyFor(namespace: NamespaceConfig, name?: string, options: Record<string, string> = {}, config?: WalConfig): Topology {
  const wal = config ?? { clusters: {}, namespaces: [namespace], sourceFiles: [] };
  if (name !== undefined) {
    const entry = registry.get(name);
    if (!entry) throw new TopologyError(`unknown topology "${name}" for namespace ${namespace.name}; registered: ${registeredTopologies().join(', ')}`);
    return entry.factory(namespace, options, wal);
  }
  for (const entry of registry.values()) if (entry.appliesTo?.(namespace)) return entry.factory(namespace, options, wal);
  throw new TopologyError(
    `no processor topology applies to namespace ${namespace.name} yet; name one explicitly (registered: ${registeredTopologies().join(', ')})`,
  );
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
