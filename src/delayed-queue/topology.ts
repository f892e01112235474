import type { ClusterConfig, KafkaTargetConfig, NamespaceConfig } from '../namespaces/types';
import { Topology, TopologyBuilder, type SourceOptions } from '../engine';
import { intakeDecoderSupplier } from '../wire/intake-record';
import { windowIndex } from './idempotency-window';
import { timerIdIndex } from './timer-store';
import {
  DelayProcessor,
  DLQ_SINK,
  IDS_STORE,
  TIMER_STORE,
  transactionalKafkaTargets,
  transactionalSinkName,
  type DelayProcessorOptions,
} from './delay-processor';

export const DELAY_NODE = 'delay';

export interface DelayedQueueDeps {
  readonly clusters: Record<string, ClusterConfig>;
  readonly batchSize?: number;
  /** Child node that due requests with mutations are forwarded to (see DelayProcessorOptions). */
  readonly mutationsChild?: string;
  /** Test seams: the Avro codec, how targets are made, the jitter's random source. */
  readonly codec?: DelayProcessorOptions['codec'];
  readonly targetFactory?: DelayProcessorOptions['targetFactory'];
  readonly random?: DelayProcessorOptions['random'];
}

/** The intake source of a topology that starts with the delayed queue: requests and control commands, read once. */
export function delayedQueueIntake(namespace: NamespaceConfig, deps: Pick<DelayedQueueDeps, 'clusters' | 'codec'>): SourceOptions {
  return { decoder: intakeDecoderSupplier(namespace, deps.clusters, { controlCommands: true, codec: deps.codec }) };
}

/** Adds `delay` (timer store ⇄ timers changelog, DLQ sink) under `parent`, the intake source (see delayedQueueIntake). */
export function addDelayNodes(builder: TopologyBuilder, namespace: NamespaceConfig, deps: DelayedQueueDeps, parent = 'intake'): TopologyBuilder {
  builder
    .addProcessor(
      DELAY_NODE,
      () => {
        const { clusters, batchSize, mutationsChild, codec, targetFactory, random } = deps;
        return new DelayProcessor({ namespace, clusters, batchSize, mutationsChild, codec, targetFactory, random });
      },
      parent,
    )
    .addSink(DLQ_SINK, namespace.topics.dlq, DELAY_NODE)
    .addStore(TIMER_STORE, { changelog: { topic: namespace.topics.timersChangelog }, localIndex: timerIdIndex }, DELAY_NODE)
    // Changelog wal.<ns>.ids-changelog, created by the engine like every default changelog.
    .addStore(IDS_STORE, { changelog: true, localIndex: windowIndex(namespace.idempotency.windowMs) }, DELAY_NODE);
  // Fixed topics, so the runner names a missing one at start: a send to it fails the commit unless the broker creates it.
  for (const target of transactionalKafkaTargets(namespace)) {
    const config = namespace.targets[target] as KafkaTargetConfig;
    builder.addSink(transactionalSinkName(target), config.topic, DELAY_NODE);
  }
  return builder;
}

/**
 * intake → delay (timer store ⇄ timers changelog) → dispatcher → targets; failures → DLQ sink.
 * Poison records that even the processor cannot route reach the DLQ through the engine's error policy.
 */
export function delayedQueueTopology(namespace: NamespaceConfig, deps: DelayedQueueDeps): Topology {
  const builder = new TopologyBuilder().addSource('intake', namespace.topics.intake, delayedQueueIntake(namespace, deps));
  addDelayNodes(builder, namespace, deps);
  // Without a DLQ topic (dlq.enabled: false, so none is planned) the engine logs a record it could not process.
  if (namespace.dlq.enabled) builder.setDeadLetterTopic(namespace.topics.dlq);
  return builder.build();
}
