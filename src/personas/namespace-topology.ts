import type { ClusterConfig, NamespaceConfig } from '../namespaces/types';
import { Topology, TopologyBuilder } from '../engine';
import { addDelayNodes, DELAY_NODE } from '../delayed-queue/topology';
import { addMutationNodes, FANOUT_NODE } from '../mutations';

export interface NamespaceTopologyDeps {
  readonly clusters: Record<string, ClusterConfig>;
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
  const builder = new TopologyBuilder().addSource('intake', namespace.topics.intake);
  addDelayNodes(builder, namespace, { clusters: deps.clusters, mutationsChild: FANOUT_NODE });
  addMutationNodes(builder, namespace, { clusters: deps.clusters }, DELAY_NODE);
  return builder.setDeadLetterTopic(namespace.topics.dlq).build();
}
