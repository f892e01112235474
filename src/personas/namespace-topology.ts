import type { ClusterConfig, NamespaceConfig } from '../namespaces/types';
import { Topology, TopologyBuilder } from '../engine';
import { addDelayNodes, DELAY_NODE, delayedQueueIntake } from '../delayed-queue/topology';
import { addMutationNodes, FANOUT_NODE } from '../mutations';
import type { AvroCodec } from '../wire';

export interface NamespaceTopologyDeps {
  readonly clusters: Record<string, ClusterConfig>;
  /** Test seam: the Avro codec of every node (default: one per task over the namespace cluster's registry). */
  readonly codec?: AvroCodec;
}

/**
 * What a namespace runs by default: every intake record goes through the delayed queue; when a
 * request falls due, its payload goes to its target, or, when it carries mutations, to the fan-out
 * (chunks on per-target topics → appliers → completions → txn tracker).
 *
 *   intake → delay ─┬─ targets (kafka | http | postgres | redis), retries, DLQ
 *                   └─ fanout → wal.<ns>.target.<t> → applier → wal.<ns>.completions → txn-tracker
 */
export function namespaceTopology(namespace: NamespaceConfig, deps: NamespaceTopologyDeps): Topology {
  const builder = new TopologyBuilder().addSource('intake', namespace.topics.intake, delayedQueueIntake(namespace, deps));
  addDelayNodes(builder, namespace, { clusters: deps.clusters, codec: deps.codec, mutationsChild: FANOUT_NODE });
  addMutationNodes(builder, namespace, { clusters: deps.clusters, codec: deps.codec }, DELAY_NODE);
  if (namespace.dlq.enabled) builder.setDeadLetterTopic(namespace.topics.dlq);
  return builder.build();
}
