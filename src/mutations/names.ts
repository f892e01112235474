import type { NamespaceConfig } from '../namespaces/types';

/** Node, store and topic names the fan-out adds to a topology (prefixed: they share it with the delayed queue). */
export const FANOUT_NODE = 'fanout';
export const FANOUT_EVENTS_SINK = 'fanout-txn-events';
export const FANOUT_DLQ_SINK = 'fanout-dlq';
export const CHUNK_SOURCE = 'fanout-chunks';
export const APPLIER_NODE = 'fanout-applier';
export const APPLIER_COMPLETIONS_SINK = 'fanout-completions';
export const APPLIER_DLQ_SINK = 'fanout-applier-dlq';
/** Chunks held back behind a failed apply (changelog `wal.<ns>.fanout-held-changelog`). */
export const HELD_STORE = 'fanout-held';
export const COMPLETIONS_SOURCE = 'txn-completions';
export const TRACKER_NODE = 'txn-tracker';
export const TXN_STORE = 'txns';

export function chunkSinkName(target: string): string {
  return `fanout-target-${target}`;
}

/**
 * The tracker's store changelog, compacted, one record per transaction (key `s` + txn id, value the
 * TxnStatus JSON): what `wal txn status` reads without asking a running instance.
 */
export function txnStatusTopic(namespace: NamespaceConfig): string {
  return `wal.${namespace.name}.txn-status`;
}
