import type { ClusterConfig, NamespaceConfig } from '../namespaces/types';
import { TopologyBuilder, type Topology } from '../engine';
import { createAvroCodec, registryOf, type AvroCodec } from '../wire';
import { intakeDecoderSupplier } from '../wire/intake-record';
import type { Target } from '../targets';
import { ApplierProcessor } from './applier-processor';
import { FanoutProcessor } from './fanout-processor';
import {
  APPLIER_COMPLETIONS_SINK,
  APPLIER_DLQ_SINK,
  APPLIER_NODE,
  CHUNK_SOURCE,
  chunkSinkName,
  COMPLETIONS_SOURCE,
  FANOUT_DLQ_SINK,
  FANOUT_EVENTS_SINK,
  FANOUT_NODE,
  HELD_STORE,
  TRACKER_NODE,
  TXN_STORE,
  txnStatusTopic,
} from './names';
import { TxnTracker } from './txn-tracker';

export interface MutationDeps {
  readonly clusters: Record<string, ClusterConfig>;
  /** Applier tuning and test hooks (see ApplierProcessorOptions). */
  readonly applier?: { readonly batchSize?: number; readonly random?: () => number };
  /** How long complete transactions stay queryable (default 7 days). */
  readonly txnRetentionMs?: number;
  /** Test seams: the Avro codec of fan-out and applier, how the applier makes targets. */
  readonly codec?: AvroCodec;
  readonly targetFactory?: (name: string) => Target;
}

/**
 * Adds multi-partition mutations to a topology whose node `parent` forwards intake records that
 * carry mutations (an intake record with its request read once, see wire/intake-record):
 *
 *   parent → fanout → wal.<ns>.target.<t> (one sink per target) and begin events → completions
 *   wal.<ns>.target.* → fanout-applier (held-chunk FIFO store) → targets; outcomes → completions
 *   wal.<ns>.completions → txn-tracker (store changelog = wal.<ns>.txn-status)
 *
 * Every source has the namespace's partition count (planTopics makes them so), as a task owns
 * partition p of each.
 */
export function addMutationNodes(builder: TopologyBuilder, namespace: NamespaceConfig, deps: MutationDeps, parent = 'delay'): TopologyBuilder {
  const { clusters, targetFactory } = deps;
  const codec = sharedCodec(namespace, deps);
  const dlq = namespace.dlq.enabled;
  const targets = Object.keys(namespace.targets).sort();

  builder.addProcessor(FANOUT_NODE, () => new FanoutProcessor({ namespace, clusters, codec }), parent);
  for (const target of targets) builder.addSink(chunkSinkName(target), namespace.topics.targets[target], FANOUT_NODE);
  builder.addSink(FANOUT_EVENTS_SINK, namespace.topics.completions, FANOUT_NODE);
  if (dlq) builder.addSink(FANOUT_DLQ_SINK, namespace.topics.dlq, FANOUT_NODE);

  if (targets.length > 0) {
    builder
      .addSource(CHUNK_SOURCE, targets.map((t) => namespace.topics.targets[t]))
      .addProcessor(APPLIER_NODE, () => new ApplierProcessor({ namespace, clusters, codec, targetFactory, ...deps.applier }), CHUNK_SOURCE)
      .addSink(APPLIER_COMPLETIONS_SINK, namespace.topics.completions, APPLIER_NODE)
      .addStore(HELD_STORE, { changelog: true }, APPLIER_NODE);
    if (dlq) builder.addSink(APPLIER_DLQ_SINK, namespace.topics.dlq, APPLIER_NODE);
  }

  builder
    .addSource(COMPLETIONS_SOURCE, namespace.topics.completions)
    .addProcessor(TRACKER_NODE, () => new TxnTracker({ namespace, retentionMs: deps.txnRetentionMs }), COMPLETIONS_SOURCE)
    .addStore(TXN_STORE, { changelog: { topic: txnStatusTopic(namespace) } }, TRACKER_NODE);
  return builder;
}

/** A topology of mutations alone: intake → fanout → …, for namespaces (and tests) without the delayed queue. */
export function mutationTopology(namespace: NamespaceConfig, deps: MutationDeps): Topology {
  const codec = sharedCodec(namespace, deps);
  const decoder = intakeDecoderSupplier(namespace, deps.clusters, { controlCommands: false, codec });
  const builder = new TopologyBuilder().addSource('intake', namespace.topics.intake, { decoder });
  addMutationNodes(builder, namespace, { ...deps, codec }, 'intake');
  if (namespace.dlq.enabled) builder.setDeadLetterTopic(namespace.topics.dlq);
  return builder.build();
}

/**
 * One codec for every task of the topology: its schemas are registered and fetched once per process,
 * not once per task and processor (a task opened after a rebalance paid registry round trips before
 * its first chunk).
 */
function sharedCodec(namespace: NamespaceConfig, deps: MutationDeps): AvroCodec {
  return deps.codec ?? createAvroCodec(registryOf(deps.clusters[namespace.cluster]));
}
