import net from 'node:net';
import { startAdminServer } from '../../src/ops/admin-server';
import { createLogger } from '../../src/observability/logger';
import { formatMetricsTable, MetricsScrapeError, namespaceRows, scrapeMetrics } from '../../src/ops/metrics-table';
import { parsePrometheusText } from '../../src/ops/metrics-text';

const text = `
# TYPE wal_namespace_ready gauge
wal_namespace_ready{namespace="orders"} 1
wal_runtime_tasks_assigned{namespace="orders"} 3
wal_runtime_records_processed_total{namespace="orders"} 1200
wal_consumer_lag_records{namespace="orders",topic="wal.orders.intake",partition="0"} 4
wal_consumer_lag_records{namespace="orders",topic="wal.orders.intake",partition="1"} 6
wal_delay_pending_timers{namespace="orders",partition="0"} 10
wal_delay_pending_timers{namespace="orders",partition="1"} 5
wal_delay_delivered_total{namespace="orders",target="events"} 900
wal_delay_retries_total{namespace="orders",target="events"} 7
wal_dlq_records_total{namespace="orders",kind="exhausted"} 2
wal_target_deliveries_total{namespace="orders",target="events",result="ok"} 900
wal_target_deliveries_total{namespace="orders",target="events",result="retriable"} 7
wal_target_deliveries_total{namespace="orders",target="events",result="permanent"} 1
wal_mirror_lag_records{namespace="mirror",source="A",target="B",topic="t",partition="0"} 42
wal_mirror_records_total{namespace="mirror",source="A",target="B",topic="t"} 10
wal_txn_pending{namespace="orders"} 2
wal_txn_completed_total{namespace="orders"} 3
wal_txn_failed_total{namespace="orders"} 1
process_resident_memory_bytes 123
`;

describe('wal status table from scraped metrics', () => {
  it('sums each namespace\'s figures over partitions, targets and kinds', () => {
    const rows = namespaceRows('i1', parsePrometheusText(text));
    expect(rows.map((r) => r.namespace)).toEqual(['mirror', 'orders']);
    expect(rows[1]).toEqual({
      instance: 'i1',
      namespace: 'orders',
      ready: true,
      paused: false,
      tasks: 3,
      restoring: 0,
      processed: 1200,
      lag: 10,
      pendingTimers: 15,
      delivered: 900,
      retries: 7,
      deadLettered: 2,
      targetErrors: 8,
      mirrorLag: 0,
      txnCompleted: 3,
      txnPending: 2,
      txnFailed: 1,
    });
    expect(rows[0]).toMatchObject({ ready: null, mirrorLag: 42, delivered: 10 });
  });

  it('prints an aligned table, header first', () => {
    const lines = formatMetricsTable(namespaceRows('instance-1', parsePrometheusText(text)));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^INSTANCE\s+NAMESPACE\s+READY\s+TASKS\s+RESTORING\s+PROCESSED\s+LAG\s+TIMERS/);
    expect(lines[2]).toMatch(/^instance-1\s+orders\s+yes\s+3\s+0\s+1200\s+10\s+15\s+900\s+7\s+2\s+8\s+0\s+2\s+3\s+1$/);
    // Right-aligned numbers end where their header ends.
    expect(lines[2].indexOf('1200') + 4).toBe(lines[0].indexOf('PROCESSED') + 'PROCESSED'.length);
  });

  it('scrapes a running admin server, and names the endpoint that does not answer', async () => {
    const server = await startAdminServer({ port: 0, host: '127.0.0.1', readiness: () => ({ ready: true, details: null }), logger: createLogger({}, { level: 'silent' }) });
    try {
      const samples = await scrapeMetrics(`${server.url}/`);
      expect(samples.some((s) => s.name === 'process_resident_memory_bytes')).toBe(true);
    } finally {
      await server.close();
    }
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await scrapeMetrics(`http://127.0.0.1:${port}`, 1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetricsScrapeError);
    expect((error as MetricsScrapeError).message).toContain(`http://127.0.0.1:${port}/metrics: `);
    expect((error as MetricsScrapeError).retriable).toBe(true);
  });
});
