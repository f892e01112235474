import type { NamespaceConfig } from '../../config/types';
import { Topology, TopologyBuilder } from '../../runtime/api';
import type { AvroCodec } from '../../serde';
import type { Dispatcher } from '../dispatch/dispatcher';
import { DelayProcessor, DLQ_SINK, TIMER_STORE } from './delay-processor';

export interface DelayedQueueDeps {
  readonly codec: AvroCodec;
  readonly dispatcher: Dispatcher;
  readonly batchSize?: number;
}

/**
 * intake → delay (timer store ⇄ timers changelog) → dispatcher → targets; failures → DLQ sink.
 * Poison records that even the processor cannot route reach the DLQ through the engine's error policy.
 */
export function delayedQueueTopology(namespace: NamespaceConfig, deps: DelayedQueueDeps): Topology {
  return new TopologyBuilder()
    .addSource('intake', namespace.topics.intake)
    .addProcessor('delay', () => new DelayProcessor({ namespace, codec: deps.codec, dispatcher: deps.dispatcher, batchSize: deps.batchSize }), 'intake')
    .addSink(DLQ_SINK, namespace.topics.dlq, 'delay')
    .addStore(TIMER_STORE, { changelog: { topic: namespace.topics.timersChangelog } }, 'delay')
    .setDeadLetterTopic(namespace.topics.dlq)
    .build();
}
