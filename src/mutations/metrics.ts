import { Counter, Gauge, Histogram } from 'prom-client';
import { metricsRegistry } from '../observability/metrics';

export const chunksWritten = new Counter({
  name: 'wal_fanout_chunks_written_total',
  help: 'Chunks the fan-out wrote to per-target topics',
  labelNames: ['namespace', 'target'],
  registers: [metricsRegistry],
});

export const mutationsApplied = new Counter({
  name: 'wal_fanout_mutations_applied_total',
  help: 'Mutations in chunks an applier applied to their target',
  labelNames: ['namespace', 'target'],
  registers: [metricsRegistry],
});

export const applyRetries = new Counter({
  name: 'wal_fanout_apply_retries_total',
  help: 'Chunk applies that failed retriably and were held back for a retry with backoff',
  labelNames: ['namespace', 'target'],
  registers: [metricsRegistry],
});

export const chunksDeadLettered = new Counter({
  name: 'wal_fanout_chunks_dead_lettered_total',
  help: 'Chunks (or undecodable records) an applier or the fan-out sent to the DLQ, by kind',
  labelNames: ['namespace', 'target', 'kind'],
  registers: [metricsRegistry],
});

export const heldChunks = new Gauge({
  name: 'wal_fanout_held_chunks',
  help: 'Chunks waiting behind a failed apply, per target and partition',
  labelNames: ['namespace', 'target', 'partition'],
  registers: [metricsRegistry],
});

export const txnsCompleted = new Counter({
  name: 'wal_txn_completed_total',
  help: 'Transactions whose every chunk was applied',
  labelNames: ['namespace'],
  registers: [metricsRegistry],
});

export const txnsPending = new Gauge({
  name: 'wal_txn_pending',
  help: 'Transactions in state pending (chunks not all applied, none dead-lettered) in the partitions this instance tracks',
  labelNames: ['namespace'],
  registers: [metricsRegistry],
});

export const txnsFailed = new Counter({
  name: 'wal_txn_failed_total',
  help: 'Transactions that became failed: a chunk of theirs was dead-lettered (again after a re-drive counts again)',
  labelNames: ['namespace'],
  registers: [metricsRegistry],
});

export const txnDuration = new Histogram({
  name: 'wal_txn_duration_seconds',
  help: 'From a transaction request being written to its last chunk being applied',
  labelNames: ['namespace'],
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
  registers: [metricsRegistry],
});
