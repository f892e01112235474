import { Counter, Histogram } from 'prom-client';
import { metricsRegistry } from '../observability/metrics';

export const targetLatency = new Histogram({
  name: 'wal_target_delivery_duration_seconds',
  help: 'Time a target took to answer a batch',
  labelNames: ['namespace', 'target', 'backend'],
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

export const targetResults = new Counter({
  name: 'wal_target_deliveries_total',
  help: 'Records handed to a target, by result (ok, retriable, permanent)',
  labelNames: ['namespace', 'target', 'result', 'backend'],
  registers: [metricsRegistry],
});
