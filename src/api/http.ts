import Fastify, { FastifyBaseLogger, FastifyError, FastifyInstance, LogController } from 'fastify';
import type { WalConfig } from '../namespaces/types';
import { createLogger, type Logger } from '../observability/logger';
import { WriteBody, writeBodySchema, writeRequestFromBody } from './body';
import type { FailureReason, WriteResult } from './types';
import type { WalWriter } from './writer';

export interface HttpServerOptions {
  readonly writer: WalWriter;
  readonly config: WalConfig;
  readonly logger?: Logger;
  /** Most items one write-batch request may carry (default 1000). */
  readonly maxBatchItems?: number;
}

/** HTTP status of a result: 200 only for durable true; the reason picks the rest. */
export function statusFor(result: WriteResult): number {
  if (result.durable === 'true') return 200;
  const byReason: Record<FailureReason, number> = {
    'invalid-request': 400,
    'unknown-namespace': 404,
    'payload-too-large': 413,
    'schema-rejected': 500,
    'rejected-by-broker': 502,
    'registry-unavailable': 503,
    'broker-unavailable': 503,
    'writer-closed': 503,
    'connection-lost': 503,
    timeout: 504,
  };
  return result.reason ? byReason[result.reason] : result.durable === 'unknown' ? 504 : 400;
}

/**
 * Body limit of the write route: room for the largest namespace payload as base64 or escaped JSON.
 * Payloads over a namespace's own limit still get the writer's precise 413.
 */
export function bodyLimitFor(config: WalConfig): number {
  const largest = Math.max(1024, ...config.namespaces.map((ns) => ns.maxPayloadBytes));
  return largest * 2 + 64 * 1024;
}

/**
 * The WriteToLog HTTP API: POST /v1/wal/write, POST /v1/wal/write-batch, GET /health, GET /ready.
 * Every error body has the shape of a WriteResult: `{durable: 'false', message}`.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const { writer, config } = options;
  const logger = options.logger ?? createLogger({ component: 'http' });
  const maxBatchItems = options.maxBatchItems ?? 1000;
  const bodyLimit = bodyLimitFor(config);
  const app = Fastify({
    // Not redundant: it widens Fastify's logger generic to the FastifyBaseLogger of the instance type.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: logger as FastifyBaseLogger,
    // Per-request info logs would dominate at thousands of writes/s; failures are logged by the writer.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    // Fastify's defaults coerce "5" into 5 and silently drop unknown fields; a typo must be an error here.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allowUnionTypes: true } },
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    let message = error.message;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `request body is over the ${request.routeOptions.bodyLimit ?? bodyLimit}-byte limit of ${request.url}`;
    else if (error.validation) message = `invalid request: ${error.message}`;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.status(status).send({ durable: 'false', message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ durable: 'false', message: `no route ${request.method} ${request.url}` });
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (_request, reply) => {
    if (writer.isReady()) return { ready: true };
    // Not ready: try (again) in the background, so /ready recovers once the brokers answer.
    writer.connect().catch((error: unknown) => logger.warn({ err: error }, 'producers not connected'));
    return reply.status(503).send({ ready: false, message: 'producers are not connected to every configured cluster yet' });
  });

  app.post<{ Body: WriteBody }>('/v1/wal/write', { schema: { body: writeBodySchema } }, async (request, reply) => {
    const converted = writeRequestFromBody(request.body);
    if ('error' in converted) return reply.status(400).send({ durable: 'false', message: `invalid request: ${converted.error}` });
    const result = await writer.writeToLog(converted);
    return reply.status(statusFor(result)).send(result);
  });

  app.post<{ Body: WriteBody[] }>(
    '/v1/wal/write-batch',
    {
      schema: { body: { type: 'array', maxItems: maxBatchItems, items: writeBodySchema } },
      bodyLimit: Math.max(bodyLimit, Math.min(64 * 1024 * 1024, 16 * bodyLimit)),
    },
    async (request) => {
      const results = await Promise.all(
        request.body.map(async (body): Promise<WriteResult> => {
          const converted = writeRequestFromBody(body);
          if ('error' in converted) return { durable: 'false', id: body.id ?? '', reason: 'invalid-request', message: `invalid request: ${converted.error}` };
          return writer.writeToLog(converted);
        }),
      );
      const count = (d: WriteResult['durable']) => results.filter((r) => r.durable === d).length;
      return { results, durable: { true: count('true'), false: count('false'), unknown: count('unknown') } };
    },
  );

  return app;
}
