import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import rateLimit from '@fastify/rate-limit';
import Fastify, { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest, LogController } from 'fastify';
import type { WalConfig } from '../namespaces/types';
import { createLogger, type Logger } from '../observability/logger';
import { refuseNamespaces, requireKey } from './auth';
import { WriteBody, writeBodySchema, writeRequestFromBody } from './body';
import { registerDlqRoutes } from './dlq-routes';
import { registerNamespaceRoutes } from './namespace-routes';
import { lazyChildLogger } from './request-logger';
import { helmetHeaders } from './security-headers';
import type { RegistryAdmin } from '../registry/operations';
import type { LiveNamespaces } from './writer';
import type { ApiKeys, ApiRole, RateLimit } from './keys';
import { batchOkSchema, exampleWrite, registerOpenApi, securityOf, writeOkSchema, writeResponses } from './openapi';
import type { FailureReason, WriteResult } from './types';
import type { WalWriter } from './writer';
import { walVersion } from '../observability/version';

export interface HttpServerOptions {
  readonly writer: WalWriter;
  readonly config: WalConfig;
  readonly logger?: Logger;
  /** Most items one write-batch request may carry (default 1000). */
  readonly maxBatchItems?: number;
  /** API keys; undefined = keyless (the CLI allows that on loopback only, see listenRefusal). */
  readonly keys?: ApiKeys;
  /** Limit of keys without their own and of keyless clients (default: the keys file's, else DEFAULT_RATE_LIMIT). */
  readonly defaultRateLimit?: RateLimit;
  /** Serve HTTPS with this PEM certificate (chain) and key. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Namespaces that follow the registry (the writer's `live`): the DLQ routes know those too. */
  readonly live?: LiveNamespaces;
  /** Serve GET/PUT/DELETE /v1/namespaces/{name} on this registry (admin role). */
  readonly registryAdmin?: RegistryAdmin;
}

/** Limit of a key (or keyless client address) that configures none: a flood guard, not a quota. */
export const DEFAULT_RATE_LIMIT: RateLimit = { max: 1000, timeWindowMs: 1000 };

const REQUEST_ID_HEADER = 'x-request-id';
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's x-request-id when it is a sane token (it goes into every log line), else a new UUID. */
export function requestIdOf(request: Pick<IncomingMessage, 'headers'>): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}


/** HTTP status of a result: 200 only for durable true; the reason picks the rest. */
export function statusFor(result: WriteResult): number {
  if (result.durable === 'true') return 200;
  const byReason: Record<FailureReason, number> = {
    'invalid-request': 400,
    'unknown-namespace': 404,
    // The namespace exists but is switched off on purpose: a conflict with its state, not a fault.
    'namespace-bypassed': 409,
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

/** A route's method and its path as a pattern that concrete paths match (`:namespace` is one segment). */
interface KnownRoute {
  readonly method: string;
  readonly path: RegExp;
}

function knownRoute(method: string, url: string): KnownRoute {
  const parts = url.split('/').map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return { method, path: new RegExp(`^${parts.join('/')}$`) };
}

/**
 * 405 with Allow for a known path asked with another method (RFC 9110), else 404. Matched against
 * every route's pattern: hasRoute only knows a parametric route by its pattern, not by a path it serves.
 */
function noRoute(routes: readonly KnownRoute[], request: FastifyRequest, reply: FastifyReply): void {
  const url = request.url.split('?')[0];
  const allowed = HTTP_METHODS.filter((method) => routes.some((route) => route.method === method && route.path.test(url)));
  if (allowed.length > 0) {
    void reply.status(405).header('allow', allowed.join(', ')).send({ durable: 'false', message: `${request.method} is not allowed on ${url}; use ${allowed.join(' or ')}` });
  } else {
    void reply.status(404).send({ durable: 'false', message: `no route ${request.method} ${request.url}` });
  }
}

/**
 * The WriteToLog HTTP API: POST /v1/wal/write, POST /v1/wal/write-batch, GET /health, GET /ready,
 * GET /openapi.json, GET /docs, and the DLQ admin routes under /v1/namespaces/:namespace/dlq (admin role). Every error body has the shape of a WriteResult: `{durable: 'false', message}`.
 * With `keys`, the write routes need a key with the write role for the body's namespaces (401/403);
 * each key (or keyless client address) has its rate limit (429 with Retry-After).
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const { writer, config } = options;
  const configNow = (): WalConfig => options.live?.current() ?? config;
  const logger = options.logger ?? createLogger({ component: 'http' });
  const maxBatchItems = options.maxBatchItems ?? 1000;
  const bodyLimit = bodyLimitFor(config);
  const keyed = options.keys !== undefined;
  const defaultLimit = options.defaultRateLimit ?? options.keys?.defaultRateLimit ?? DEFAULT_RATE_LIMIT;
  const limitOf = (request: FastifyRequest): RateLimit => request.apiKey?.rateLimit ?? defaultLimit;
  // The https option changes the instance's server type parameter only; the routes and hooks are the same.
  const app = Fastify({
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
    // Not redundant: it widens Fastify's logger generic to the FastifyBaseLogger of the instance type.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: logger as FastifyBaseLogger,
    // Per-request info logs would dominate at thousands of writes/s; failures are logged by the writer.
    // request.log (and every line logged with it) carries requestId.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    bodyLimit,
    // Fastify's defaults coerce "5" into 5 and silently drop unknown fields; a typo must be an error here.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allowUnionTypes: true } },
    genReqId: requestIdOf,
  }) as unknown as FastifyInstance;
  app.setChildLoggerFactory((_parent, bindings, childOptions) => lazyChildLogger(logger, bindings, childOptions));

  const routes: KnownRoute[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push(knownRoute(method, route.url));
  });
  // Helmet's headers, set on every reply.
  const securityHeaders = helmetHeaders();
  // A callback hook: an async one costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    for (const [name, value] of securityHeaders) reply.raw.setHeader(name, value);
    done();
  });
  void app.register(rateLimit, { global: false });
  registerOpenApi(app, walVersion());

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // No route, but the body could not be read first (e.g. QUERY without a content type): still 404/405.
    if (request.is404) return noRoute(routes, request, reply);
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    let message = error.message;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `request body is over the ${request.routeOptions.bodyLimit ?? bodyLimit}-byte limit of ${request.url}`;
    else if (error.validation) message = `invalid request: ${error.message}`;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.status(status).send({ durable: 'false', message });
  });
  app.setNotFoundHandler((request, reply) => noRoute(routes, request, reply));

  // In a plugin of their own so that they register after the OpenAPI generator has loaded.
  void app.register(async (api) => {
    const rateLimited = api.rateLimit({
      keyGenerator: (request) => (request.apiKey ? `key:${request.apiKey.id}` : `address:${request.ip}`),
      max: (request) => limitOf(request).max,
      timeWindow: (request) => limitOf(request).timeWindowMs,
      errorResponseBuilder: (request, context) => ({
        statusCode: 429,
        message: `nothing was written: over the rate limit of ${request.apiKey ? `API key '${request.apiKey.id}'` : `client ${request.ip}`} (${context.max} requests per ${limitOf(request).timeWindowMs} ms); retry in ${context.after}`,
      }),
    });
    // Keyless, the key hook (async: a promise per request) has nothing to check.
    const guard = (role: ApiRole) => (keyed ? [requireKey(options.keys, role), rateLimited] : [rateLimited]);
    const writeGuard = guard('write');
    const security = securityOf(keyed);
    const example = exampleWrite(config.namespaces);

    api.get('/openapi.json', { schema: { hide: true } }, async () => api.swagger());

    registerDlqRoutes(api, { config: configNow, guard: guard('admin'), security });
    if (options.registryAdmin) registerNamespaceRoutes(api, { admin: options.registryAdmin, guard: guard('admin'), security });

    api.get('/health', { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({ status: 'ok' }));

    api.get(
      '/ready',
      {
        schema: {
          response: {
            200: { type: 'object', properties: { ready: { type: 'boolean' } } },
            503: { type: 'object', properties: { ready: { type: 'boolean' }, message: { type: 'string' } } },
          },
        },
      },
      async (_request, reply) => {
        if (writer.isReady()) return { ready: true };
        // Not ready: try (again) in the background, so /ready recovers once the brokers answer.
        writer.connect().catch((error: unknown) => logger.warn({ err: error }, 'producers not connected'));
        return reply.status(503).send({ ready: false, message: 'producers are not connected to every configured cluster yet' });
      },
    );

    api.post<{ Body: WriteBody }>(
      '/v1/wal/write',
      { onRequest: writeGuard, schema: { body: { ...writeBodySchema, ...(example ? { examples: [example] } : {}) }, response: writeResponses(writeOkSchema), security } },
      async (request, reply) => {
        if (refuseNamespaces(request, reply, [request.body.namespace])) return reply;
        const converted = writeRequestFromBody(request.body);
        if ('error' in converted) return reply.status(400).send({ durable: 'false', message: `invalid request: ${converted.error}` });
        const result = await writer.writeToLog(converted, { logger: request.log });
        return reply.status(statusFor(result)).send(result);
      },
    );

    api.post<{ Body: WriteBody[] }>(
      '/v1/wal/write-batch',
      {
        onRequest: writeGuard,
        schema: { body: { type: 'array', maxItems: maxBatchItems, items: writeBodySchema, ...(example ? { examples: [[example, example]] } : {}) }, response: writeResponses(batchOkSchema), security },
        bodyLimit: Math.max(bodyLimit, Math.min(64 * 1024 * 1024, 16 * bodyLimit)),
      },
      async (request, reply) => {
        if (refuseNamespaces(request, reply, request.body.map((body) => body.namespace))) return reply;
        const results = await Promise.all(
          request.body.map(async (body): Promise<WriteResult> => {
            const converted = writeRequestFromBody(body);
            if ('error' in converted) return { durable: 'false', id: body.id ?? '', reason: 'invalid-request', message: `invalid request: ${converted.error}` };
            return writer.writeToLog(converted, { logger: request.log });
          }),
        );
        const count = (d: WriteResult['durable']) => results.filter((r) => r.durable === d).length;
        return { results, durable: { true: count('true'), false: count('false'), unknown: count('unknown') } };
      },
    );
  });

  return app;
}
