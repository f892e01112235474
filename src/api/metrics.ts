import { Counter } from 'prom-client';
import { metricsRegistry } from '../observability/metrics';

export const bypassRefusals = new Counter({
  name: 'wal_writer_bypass_refusals_total',
  help: 'Writes the writer refused because their namespace is in bypass (`wal namespace bypass <ns> --on`); nothing was written',
  labelNames: ['namespace'],
  registers: [metricsRegistry],
});
