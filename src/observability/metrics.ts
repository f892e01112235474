import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process-wide Prometheus registry. Modules add their metrics here (additively); the HTTP
 * exposure (`/metrics`) serves `metricsRegistry.metrics()`.
 */
export const metricsRegistry = new Registry();

// ── stream engine (src/engine) ───────────────────────────────────────────────────────────────
export const recordsProcessed = new Counter({
  name: 'wal_runtime_records_processed_total',
  help: 'Input records processed by tasks (including those handed to the error policy)',
  labelNames: ['namespace'] as const,
  registers: [metricsRegistry],
});

export const recordsOut = new Counter({
  name: 'wal_runtime_records_out_total',
  help: 'Records tasks sent to sink topics (changelogs not counted)',
  labelNames: ['namespace', 'topic'] as const,
  registers: [metricsRegistry],
});

export const processingErrors = new Counter({
  name: 'wal_runtime_processing_errors_total',
  help: 'Input records whose processing threw and went to the error policy',
  labelNames: ['namespace'] as const,
  registers: [metricsRegistry],
});

export const commitLatency = new Histogram({
  name: 'wal_runtime_commit_duration_seconds',
  help: 'Duration of a task commit (flush output, commit offsets or transaction, checkpoint)',
  labelNames: ['namespace', 'guarantee'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [metricsRegistry],
});

export const tasksAssigned = new Gauge({
  name: 'wal_runtime_tasks_assigned',
  help: 'Tasks (input partitions) currently open in this instance',
  labelNames: ['namespace'] as const,
  registers: [metricsRegistry],
});

export const punctuations = new Counter({
  name: 'wal_runtime_punctuations_total',
  help: 'Punctuator runs (wall-clock schedules)',
  labelNames: ['namespace', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const engineRestarts = new Counter({
  name: 'wal_runtime_engine_restarts_total',
  help: 'Times the engine lost its consumer (broker unreachable, crash) and restarted it after a backoff',
  labelNames: ['namespace'] as const,
  registers: [metricsRegistry],
});

// ── state stores (src/state) ──────────────────────────────────────────────────────────────────
export const restoreRecords = new Counter({
  name: 'wal_state_restore_records_total',
  help: 'Changelog records replayed into local stores',
  labelNames: ['namespace', 'store'] as const,
  registers: [metricsRegistry],
});

export const restoreRemaining = new Gauge({
  name: 'wal_state_restore_remaining_records',
  help: 'Changelog records still to replay before a task can process (0 when restored)',
  labelNames: ['namespace', 'store', 'partition'] as const,
  registers: [metricsRegistry],
});

// ── dead-letter queues (src/ops for Kafka DLQs, src/sqs for SQS ones) ───────────────────────────
export const dlqDepthRecords = new Gauge({
  name: 'wal_dlq_depth_records',
  help: 'Dead letters not yet replayed or purged: on Kafka, records in the DLQ minus the marks on them (every --dlq-depth-interval); on SQS, the DLQ queue approximate messages, visible + in flight (every 15 s)',
  labelNames: ['namespace', 'backend'] as const,
  registers: [metricsRegistry],
});
