import type { ClusterConfig, NamespaceConfig } from '../../config/types';
import { Topology, TopologyBuilder } from '../../runtime/api';
import { DelayProcessor, DLQ_SINK, TIMER_STORE } from './delay-processor';

export interface DelayedQueueDeps {
  readonly clusters: Record<string, ClusterConfig>;
  readonly batchSize?: number;
}

/**
 * intake → delay (timer store ⇄ timers changelog) → dispatcher → targets; failures → DLQ sink.
 * Poison records that even the processor cannot route reach the DLQ through the engine's error policy.
 */
export function delayedQueueTopology(namespace: NamespaceConfig, deps: DelayedQueueDeps): Topology {
  return new TopologyBuilder()
    .addSource('intake', namespace.topics.intake)
    .addProcessor('delay', () => new DelayProcessor({ namespace, clusters: deps.clusters, batchSize: deps.batchSize }), 'intake')
    .addSink(DLQ_SINK, namespace.topics.dlq, 'delay')
    .addStore(TIMER_STORE, { changelog: { topic: namespace.topics.timersChangelog } }, 'delay')
    .setDeadLetterTopic(namespace.topics.dlq)
    .build();
}
