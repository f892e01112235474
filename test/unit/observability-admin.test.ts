import net from 'node:net';
import { Counter } from 'prom-client';
import { AdminServerError, startAdminServer, type AdminServer } from '../../src/ops/admin-server';
import { allReady, namespaceReadiness, runnersReadiness } from '../../src/ops/health';
import { createLogger } from '../../src/observability/logger';
import { metricsRegistry } from '../../src/observability/metrics';
import type { NamespaceStatus } from '../../src/engine';

const logger = createLogger({}, { level: 'silent' });

function status(overrides: Partial<NamespaceStatus> = {}): NamespaceStatus {
  const task = (partition: number) => ({ partition, restoredRecords: 0, offsets: { in: { processed: '5', highWatermark: '7', lag: 2 } }, stores: {} });
  return {
    namespace: 'orders',
    groupId: 'wal.orders',
    guarantee: 'at-least-once',
    state: 'running',
    joined: true,
    paused: false,
    assigned: [0, 1],
    tasks: [task(0), task(1)],
    ...overrides,
  };
}

describe('namespace readiness', () => {
  it('is ready when the runner is running and every assigned partition has an open (restored) task', () => {
    expect(namespaceReadiness(status())).toMatchObject({ ready: true, restored: [0, 1], restoring: [] });
  });

  it('is not ready while an assigned partition is still restoring, and names it', () => {
    const r = namespaceReadiness(status({ tasks: [status().tasks[0]] }));
    expect(r).toMatchObject({ ready: false, restored: [0], restoring: [1] });
    expect(r.reason).toBe('partition(s) 1 still restoring');
  });

  it('is not ready before the group assigned anything, nor while starting, restarting or stopping', () => {
    expect(namespaceReadiness(status({ joined: false, assigned: [], tasks: [] }))).toMatchObject({ ready: false, joined: false, reason: 'no partition assigned yet (joining the group)' });
    for (const state of ['created', 'starting', 'restarting', 'stopping', 'stopped'] as const) {
      expect(namespaceReadiness(status({ state }))).toMatchObject({ ready: false, reason: `runner is ${state}` });
    }
  });

  it('is ready as an idle member: joined, but the group has more members than partitions and gave it none', () => {
    const idle = namespaceReadiness(status({ joined: true, assigned: [], tasks: [] }));
    expect(idle).toMatchObject({ ready: true, joined: true, assigned: [], restored: [], restoring: [] });
    expect(idle.reason).toMatch(/^idle: joined the group, which assigned no partition/);
    // Joined but the runner is not running (a crash cleared nothing yet, or it is stopping): not ready.
    expect(namespaceReadiness(status({ joined: true, assigned: [], tasks: [], state: 'restarting' }))).toMatchObject({ ready: false, reason: 'runner is restarting' });
    // A member that owns partitions is judged by them, joined or mid-rebalance.
    expect(namespaceReadiness(status({ joined: false }))).toMatchObject({ ready: true });
    expect(namespaceReadiness(status({ joined: true, tasks: [] }))).toMatchObject({ ready: false, restoring: [0, 1] });
  });

  it('combines runners: all must be ready; a status() that throws or no runner at all is not ready', async () => {
    const ok = { status: async () => status() };
    const restoring = { status: async () => status({ tasks: [] }) };
    const broken = { status: async (): Promise<NamespaceStatus> => Promise.reject(new Error('boom')) };
    expect((await runnersReadiness([ok, ok])).ready).toBe(true);
    expect((await runnersReadiness([ok, restoring])).ready).toBe(false);
    expect(await runnersReadiness([broken])).toMatchObject({ ready: false, details: { namespaces: [{ reason: 'status failed: boom' }] } });
    expect((await runnersReadiness([])).ready).toBe(false);
    expect((await allReady({ engine: () => ({ ready: true, details: null }), api: () => ({ ready: false, details: 'x' }) })()).ready).toBe(false);
  });
});

describe('the admin server (real sockets)', () => {
  const servers: AdminServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function start(readiness: Parameters<typeof startAdminServer>[0]['readiness'], extra: { readinessTimeoutMs?: number } = {}) {
    const server = await startAdminServer({ port: 0, host: '127.0.0.1', readiness, logger, ...extra });
    servers.push(server);
    return server;
  }

  it('serves the process registry as Prometheus text on /metrics, with Node process metrics', async () => {
    const counter = new Counter({ name: 'wal_test_admin_probe_total', help: 'probe', labelNames: ['namespace'], registers: [metricsRegistry] });
    counter.labels('ns1').inc(3);
    try {
      const server = await start(() => ({ ready: true, details: null }));
      const response = await fetch(`${server.url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(metricsRegistry.contentType);
      const text = await response.text();
      expect(text).toContain('wal_test_admin_probe_total{namespace="ns1"} 3');
      expect(text).toContain('# TYPE wal_runtime_commit_duration_seconds histogram');
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    } finally {
      metricsRegistry.removeSingleMetric('wal_test_admin_probe_total');
    }
  });

  it('answers /health with 200 {status: ok} and unknown paths with 404 naming the routes', async () => {
    const server = await start(() => ({ ready: false, details: null }));
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { message: string }).message).toContain('/metrics, /health or /ready');
  });

  it('answers /ready with 503 until the readiness check says ready, then 200, with its details', async () => {
    let ready = false;
    const server = await start(async () => ({ ready, details: { restoring: ready ? [] : [3] } }));
    const before = await fetch(`${server.url}/ready`);
    expect(before.status).toBe(503);
    expect(await before.json()).toEqual({ ready: false, details: { restoring: [3] } });
    ready = true;
    const after = await fetch(`${server.url}/ready`);
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual({ ready: true, details: { restoring: [] } });
  });

  it('answers /ready with 503 when the check throws or hangs past its timeout', async () => {
    const throwing = await start(() => {
      throw new Error('no status');
    });
    const r1 = await fetch(`${throwing.url}/ready`);
    expect(r1.status).toBe(503);
    expect(((await r1.json()) as { details: { reason: string } }).details.reason).toBe('readiness check failed: no status');
    const hanging = await start(() => new Promise(() => undefined), { readinessTimeoutMs: 100 });
    const r2 = await fetch(`${hanging.url}/ready`);
    expect(r2.status).toBe(503);
    expect(((await r2.json()) as { details: { reason: string } }).details.reason).toBe('readiness check did not answer within 100 ms');
  });

  it('rejects a bad port, and a busy port with a retriable AdminServerError', async () => {
    await expect(startAdminServer({ port: 70000, logger })).rejects.toThrow(new AdminServerError('admin port 70000 is not a TCP port (0-65535)', false));
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const error = await startAdminServer({ port, host: '127.0.0.1', logger }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AdminServerError);
      expect(error).toMatchObject({ retriable: true, message: `admin port ${port} on 127.0.0.1 is in use` });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('shows lag per partition and namespace readiness of its runners at scrape time', async () => {
    const source = { status: async () => status({ namespace: 'scraped', tasks: [status().tasks[0]] }) };
    const server = await startAdminServer({ port: 0, host: '127.0.0.1', sources: [source], logger, processMetrics: false });
    servers.push(server);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain('wal_consumer_lag_records{namespace="scraped",topic="in",partition="0"} 2');
    expect(text).toContain('wal_namespace_ready{namespace="scraped"} 0');
    expect(text).toContain('wal_namespace_partitions_restoring{namespace="scraped"} 1');
    expect((await fetch(`${server.url}/ready`)).status).toBe(503);
    await server.close();
    const again = await startAdminServer({ port: 0, host: '127.0.0.1', readiness: () => ({ ready: true, details: null }), logger });
    servers.push(again);
    expect(await (await fetch(`${again.url}/metrics`)).text()).not.toContain('namespace="scraped"');
  });
});
