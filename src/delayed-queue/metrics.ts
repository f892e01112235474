import { Counter, Gauge, Histogram } from 'prom-client';
import { metricsRegistry } from '../observability/metrics';

// `backend` (kafka|sqs, see queueBackend) on the series the Kafka delay processor and the SQS receivers share.

export const pendingTimers = new Gauge({
  name: 'wal_delay_pending_timers',
  help: 'Records held in the timer store until they are due',
  labelNames: ['namespace', 'partition'],
  registers: [metricsRegistry],
});

export const fireLateness = new Histogram({
  name: 'wal_delay_fire_lateness_seconds',
  help: 'Time from a record being due to it being handed to its target',
  labelNames: ['namespace', 'backend'],
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
  registers: [metricsRegistry],
});

export const retries = new Counter({
  name: 'wal_delay_retries_total',
  help: 'Deliveries rescheduled after a retriable failure',
  labelNames: ['namespace', 'target', 'backend'],
  registers: [metricsRegistry],
});

export const deadLetters = new Counter({
  name: 'wal_dlq_records_total',
  help: 'Records written to the dead-letter topic, by kind (permanent, exhausted, poison)',
  labelNames: ['namespace', 'kind', 'backend'],
  registers: [metricsRegistry],
});

export const delivered = new Counter({
  name: 'wal_delay_delivered_total',
  help: 'Records delivered to their target',
  labelNames: ['namespace', 'target', 'backend'],
  registers: [metricsRegistry],
});

export const intakeDuplicates = new Counter({
  name: 'wal_intake_duplicates_total',
  help: 'Intake records dropped because their id was pending or delivered within the idempotency window',
  labelNames: ['namespace', 'backend'],
  registers: [metricsRegistry],
});

export const dlqDisabled = new Counter({
  name: 'wal_dlq_disabled_total',
  help: 'Records that would have been dead-lettered while the namespace DLQ is disabled: retained (tried again at the longest backoff) or dropped (dlq.onDisabled: drop)',
  labelNames: ['namespace', 'action', 'backend'],
  registers: [metricsRegistry],
});
