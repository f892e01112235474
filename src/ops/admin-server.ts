import Fastify, { FastifyBaseLogger, LogController } from 'fastify';
import { collectDefaultMetrics } from 'prom-client';
import { runnersReadiness, type ReadinessCheck, type ReadinessReport, type StatusSource } from './health';
import { createLogger, type Logger } from '../observability/logger';
import { metricsRegistry } from '../observability/metrics';
import { trackStatusSources } from './runtime-collector';

/** The admin endpoint could not start. `retriable` when the port is only busy (another process may free it). */
export class AdminServerError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AdminServerError';
  }
}

export interface AdminServerOptions {
  /** TCP port; 0 picks a free one (see the returned `port`). */
  readonly port: number;
  /** Bind address (default 0.0.0.0: every interface). */
  readonly host?: string;
  /** What /ready answers. Default: every `sources` runner is running, assigned and restored. */
  readonly readiness?: ReadinessCheck;
  /**
   * Runners whose status feeds /ready and the scrape-time gauges (consumer lag, namespace ready)
   * while the server is open: a list, or a function asked each time (runners come and go).
   */
  readonly sources?: readonly StatusSource[] | (() => readonly StatusSource[]);
  readonly logger?: Logger;
  /** Also expose Node process metrics (CPU, memory, event-loop lag, GC). Default true. */
  readonly processMetrics?: boolean;
  /** /ready answers 503 when the readiness check takes longer than this (default 5 s). */
  readonly readinessTimeoutMs?: number;
}

export interface AdminServer {
  /** `http://<host>:<port>` as bound (0.0.0.0 shown as 127.0.0.1, so the URL is usable locally). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

let processMetricsOn = false;

function enableProcessMetrics(): void {
  if (processMetricsOn) return;
  processMetricsOn = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

function withTimeout(check: ReadinessCheck, ms: number): Promise<ReadinessReport> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReadinessReport>((resolve) => {
    timer = setTimeout(() => resolve({ ready: false, details: { reason: `readiness check did not answer within ${ms} ms` } }), ms);
  });
  const run = Promise.resolve()
    .then(check)
    .catch((error: unknown): ReadinessReport => ({ ready: false, details: { reason: `readiness check failed: ${(error as Error)?.message ?? String(error)}` } }));
  return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The operations endpoint of a `wal start` instance: GET /metrics (Prometheus text of the process
 * registry), GET /health (liveness: answers while the event loop runs), GET /ready (200 when the
 * readiness check says ready, else 503; JSON details either way).
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { port, host = '0.0.0.0' } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AdminServerError(`admin port ${port} is not a TCP port (0-65535)`, false);
  const logger = options.logger ?? createLogger({ component: 'admin' });
  const given = options.sources ?? [];
  const sources = typeof given === 'function' ? given : () => given;
  const readiness = options.readiness ?? (() => runnersReadiness(sources()));
  const timeoutMs = options.readinessTimeoutMs ?? 5000;
  if (options.processMetrics !== false) enableProcessMetrics();

  const app = Fastify({
    // Not redundant: it widens Fastify's logger generic to the FastifyBaseLogger of the instance type.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: logger as FastifyBaseLogger,
    // A scrape every few seconds per instance would flood the log.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.get('/metrics', async (_request, reply) => {
    const body = await metricsRegistry.metrics();
    return reply.type(metricsRegistry.contentType).send(body);
  });
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    const report = await withTimeout(readiness, timeoutMs);
    return reply.status(report.ready ? 200 : 503).send({ ready: report.ready, details: report.details });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ message: `no route ${request.method} ${request.url}; try /metrics, /health or /ready` });
  });

  try {
    await app.listen({ port, host });
  } catch (error) {
    await app.close().catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new AdminServerError(`admin port ${port} on ${host} is in use`, true, { cause: error });
    throw new AdminServerError(`admin server could not listen on ${host}:${port}: ${(error as Error).message}`, false, { cause: error });
  }
  const untrack = trackStatusSources(sources);
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${bound}`;
  logger.info({ url, routes: ['/metrics', '/health', '/ready'] }, 'admin server listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    port: bound,
    close: () =>
      (closing ??= (async () => {
        untrack();
        await app.close();
      })()),
  };
}
