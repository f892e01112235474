import { Counter, Gauge } from 'prom-client';
import { metricsRegistry } from '../observability/metrics';

// The delivery series (wal_delay_delivered_total, wal_delay_retries_total, wal_dlq_records_total,
// wal_dlq_depth_records, wal_delay_fire_lateness_seconds, wal_target_*) are shared with the Kafka
// delayed queue, told apart by their backend label (kafka|sqs). Only what is SQS's own is here.

export const sqsQueueMessages = new Gauge({
  name: 'wal_sqs_queue_messages',
  help: 'Approximate messages in a namespace SQS queue (GetQueueAttributes), by queue (main, dlq) and state (visible, in_flight, delayed)',
  labelNames: ['namespace', 'queue', 'state', 'backend'],
  registers: [metricsRegistry],
});

export const sqsResends = new Counter({
  name: 'wal_sqs_resends_total',
  help: 'Messages that surfaced before they were due (a delay beyond the SQS maximum) and were sent again with the remaining delay',
  labelNames: ['namespace', 'backend'],
  registers: [metricsRegistry],
});
