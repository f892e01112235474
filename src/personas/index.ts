import type { Kafka } from 'kafkajs';
import { delayedQueueTopology } from '../delayed-queue';
import { NamespaceRunner, TopologyError, type EngineOptions, type RunnerTuning, type Topology } from '../engine';
import { MirrorRunner } from '../mirror';
import { SqsRunner } from '../sqs';
import { mutationTopology } from '../mutations';
import { DEFAULT_PARTITION_CONCURRENCY, type NamespaceConfig, type WalConfig } from '../namespaces/types';
import type { Logger } from '../observability/logger';
import type { InstanceRunner } from '../ops/instance';
import { namespaceTopology } from './namespace-topology';
import { passthroughTopology } from './passthrough';

/**
 * The one place that decides what a namespace runs. A namespace with `replication` runs the
 * cross-cluster mirror (its own runner); every other one runs the `namespace` topology (delayed
 * queue + mutations fan-out) on the stream engine. `wal start --processor <name>` picks a stream
 * topology by name instead (e.g. `passthrough` for the engine benchmark).
 */
export const STREAM_PERSONAS = ['namespace', 'delayed-queue', 'mutations', 'passthrough'] as const;
export type StreamPersona = (typeof STREAM_PERSONAS)[number];

/** Persona options from `--set key=value` (passthrough: `output`, default `wal.<ns>.out`). */
export type PersonaSettings = Readonly<Record<string, string>>;

function isStreamPersona(name: string): name is StreamPersona {
  return (STREAM_PERSONAS as readonly string[]).includes(name);
}

/** The stream topology of `namespace`: the named persona, else the namespace's own (`namespace`). */
export function topologyFor(namespace: NamespaceConfig, config: Pick<WalConfig, 'clusters'>, persona: string = 'namespace', settings: PersonaSettings = {}): Topology {
  if (!isStreamPersona(persona)) {
    throw new TopologyError(`unknown processor "${persona}" for namespace ${namespace.name}; known: ${STREAM_PERSONAS.join(', ')}`);
  }
  const deps = { clusters: config.clusters };
  switch (persona) {
    case 'namespace':
      return namespaceTopology(namespace, deps);
    case 'delayed-queue':
      return delayedQueueTopology(namespace, deps);
    case 'mutations':
      return mutationTopology(namespace, deps);
    case 'passthrough':
      return passthroughTopology(namespace.topics.intake, settings.output ?? `wal.${namespace.name}.out`, namespace.dlq.enabled ? namespace.topics.dlq : undefined);
  }
}

/** What the engine needs of a namespace (the engine itself knows no namespace config). */
export function engineOptionsOf(namespace: NamespaceConfig): EngineOptions {
  return {
    name: namespace.name,
    processingGuarantee: namespace.processingGuarantee,
    replicationFactor: namespace.replicationFactor,
    commitIntervalMs: namespace.runtime.commitIntervalMs,
    partitionConcurrency: namespace.runtime.partitionConcurrency ?? DEFAULT_PARTITION_CONCURRENCY,
  };
}

export interface RunnerDeps {
  readonly config: WalConfig;
  /** One Kafka client per cluster alias, shared by the instance's runners. */
  readonly kafka: (alias: string) => Kafka;
  readonly stateDir: string;
  readonly instanceId: string;
  readonly logger: Logger;
  readonly tuning?: RunnerTuning;
  /** A stream persona by name for every namespace (`wal start --processor`), instead of the namespace's own. */
  readonly persona?: string;
  readonly settings?: PersonaSettings;
}

/** The runner an instance starts for `namespace`. */
export function runnerFor(namespace: NamespaceConfig, deps: RunnerDeps): InstanceRunner {
  const logger = deps.logger.child({ namespace: namespace.name, instance: deps.instanceId });
  if (namespace.queue?.type === 'sqs' && deps.persona === undefined) {
    return new SqsRunner({ namespace, clusters: deps.config.clusters, logger });
  }
  if (namespace.replication && deps.persona === undefined) {
    return new MirrorRunner({ config: deps.config, namespace, instanceId: deps.instanceId, logger });
  }
  return new NamespaceRunner({
    kafka: deps.kafka(namespace.cluster),
    engine: engineOptionsOf(namespace),
    topology: topologyFor(namespace, deps.config, deps.persona, deps.settings),
    stateDir: deps.stateDir,
    instanceId: deps.instanceId,
    tuning: deps.tuning,
    logger,
  });
}
