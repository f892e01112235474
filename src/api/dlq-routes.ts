import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Kafka } from 'kafkajs';
import { createKafkaClient } from '../kafka';
import type { NamespaceConfig, WalConfig } from '../namespaces/types';
import {
  deadLetterJson,
  dlqDepth,
  dlqName,
  DlqRequestError,
  listDeadLetters,
  parseDlqFilters,
  purgeDeadLetters,
  replayDeadLetters,
  type DlqFilterInput,
  type DlqScope,
} from '../dlq/operations';
import { DlqTopicMissingError } from '../dlq/ledger';
import { refuseNamespaces } from './auth';
import { dlqDepthSchema, dlqFiltersSchema, dlqListQuerySchema, dlqListSchema, dlqPurgeSchema, dlqReplaySchema, dlqResponses } from './openapi';

/**
 * The DLQ admin routes: what `wal dlq list/replay/purge/depth` does, over HTTP, through the same
 * functions (src/dlq/operations). With keys, each needs the admin role for the namespace.
 */

interface NamespaceParams {
  namespace: string;
}

interface ListQuery {
  since?: string;
  until?: string;
  id?: string;
  kind?: string;
  target?: string;
  reason?: string;
  limit?: string;
  all?: 'true' | 'false';
}

interface ReplayBody {
  filters?: DlqFilterInput;
  toTarget?: string;
  dryRun?: boolean;
}

interface PurgeBody {
  filters?: DlqFilterInput;
  dryRun?: boolean;
}

export interface DlqRoutesOptions {
  /** The namespaces as of now (they change while the server runs when it follows the registry). */
  readonly config: () => WalConfig;
  /** Hooks every route runs first: the admin key check and the rate limit. */
  readonly guard: onRequestHookHandler[];
  readonly security: Array<Record<string, string[]>> | undefined;
}


const csv = (text: string | undefined): string[] | undefined =>
  text
    ?.split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);

function fail(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.status(status).send({ durable: 'false', message });
}

export function registerDlqRoutes(api: FastifyInstance, options: DlqRoutesOptions): void {
  const { guard, security } = options;
  const config = options.config();
  // The first namespace as the document's example: the docs page offers it and schemathesis sends it, so a fuzz run reaches a real DLQ.
  const first = config.namespaces[0]?.name;
  const paramsSchema = { type: 'object', required: ['namespace'], properties: { namespace: { type: 'string', ...(first ? { examples: [first] } : {}) } } };
  // One client per cluster, made on the first request that needs it.
  const clients = new Map<string, Kafka>();
  const kafkaOf = (ns: NamespaceConfig): Kafka => {
    let kafka = clients.get(ns.cluster);
    if (!kafka) clients.set(ns.cluster, (kafka = createKafkaClient(options.config().clusters[ns.cluster], 'wal-api-dlq')));
    return kafka;
  };

  /** The namespace of the path, or undefined once the reply (404, 403) is sent. */
  const scopeOf = (request: FastifyRequest<{ Params: NamespaceParams }>, reply: FastifyReply): DlqScope | undefined => {
    const name = request.params.namespace;
    const known = options.config().namespaces;
    const namespace = known.find((ns) => ns.name === name);
    if (!namespace) {
      fail(reply, 404, `unknown namespace '${name}'; this server knows ${known.map((ns) => `'${ns.name}'`).join(', ') || 'none'}`);
      return undefined;
    }
    if (refuseNamespaces(request, reply, [name], 'administer')) return undefined;
    return { kafka: kafkaOf(namespace), namespace };
  };

  /** Runs an operation; what it refuses as given is a 400, a DLQ whose topics were never created a 409, with the reason. */
  const answer = async <T>(reply: FastifyReply, work: () => Promise<T>): Promise<T | FastifyReply> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DlqRequestError) return fail(reply, 400, error.message);
      if (error instanceof DlqTopicMissingError) return fail(reply, 409, error.message);
      throw error;
    }
  };

  const by = (request: FastifyRequest): string => `api:${request.apiKey?.id ?? 'keyless'}`;

  api.get<{ Params: NamespaceParams; Querystring: ListQuery }>(
    '/v1/namespaces/:namespace/dlq',
    { onRequest: guard, schema: { params: paramsSchema, querystring: dlqListQuerySchema, response: dlqResponses(dlqListSchema), security } },
    async (request, reply) => {
      const scope = scopeOf(request, reply);
      if (!scope) return reply;
      const q = request.query;
      return answer(reply, async () => {
        const filters = parseDlqFilters({ since: q.since, until: q.until, ids: csv(q.id), kinds: csv(q.kind), targets: csv(q.target), reason: q.reason });
        const records = await listDeadLetters(scope, filters, { all: q.all === 'true', limit: q.limit === undefined ? undefined : Number(q.limit) });
        return { namespace: scope.namespace.name, topic: dlqName(scope.namespace), count: records.length, records: records.map(deadLetterJson) };
      });
    },
  );

  api.post<{ Params: NamespaceParams; Body: ReplayBody }>(
    '/v1/namespaces/:namespace/dlq/replay',
    {
      onRequest: guard,
      schema: {
        params: paramsSchema,
        body: { type: 'object', additionalProperties: false, properties: { filters: dlqFiltersSchema, toTarget: { type: 'string' }, dryRun: { type: 'boolean' } } },
        response: dlqResponses(dlqReplaySchema),
        security,
      },
    },
    async (request, reply) => {
      const scope = scopeOf(request, reply);
      if (!scope) return reply;
      const { filters = {}, toTarget, dryRun = false } = request.body ?? {};
      return answer(reply, async () => {
        const result = await replayDeadLetters(scope, parseDlqFilters(filters), { by: by(request), filter: { ...filters }, toTarget, dryRun });
        request.log.info({ namespace: scope.namespace.name, replayed: result.replayed, toTarget, dryRun, keyId: request.apiKey?.id }, 'DLQ replay');
        return {
          namespace: scope.namespace.name,
          intake: result.intake,
          ...(toTarget ? { toTarget } : {}),
          dryRun,
          selected: result.records.length,
          replayed: result.replayed,
          records: result.records.map(deadLetterJson),
        };
      });
    },
  );

  api.post<{ Params: NamespaceParams; Body: PurgeBody }>(
    '/v1/namespaces/:namespace/dlq/purge',
    {
      onRequest: guard,
      schema: {
        params: paramsSchema,
        body: { type: 'object', additionalProperties: false, properties: { filters: dlqFiltersSchema, dryRun: { type: 'boolean' } } },
        response: dlqResponses(dlqPurgeSchema),
        security,
      },
    },
    async (request, reply) => {
      const scope = scopeOf(request, reply);
      if (!scope) return reply;
      const { filters = {}, dryRun = false } = request.body ?? {};
      return answer(reply, async () => {
        const result = await purgeDeadLetters(scope, parseDlqFilters(filters), { by: by(request), filter: { ...filters }, dryRun });
        request.log.info({ namespace: scope.namespace.name, purged: result.purged, deleted: result.deleted, dryRun, keyId: request.apiKey?.id }, 'DLQ purge');
        return { namespace: scope.namespace.name, dryRun, selected: result.records.length, purged: result.purged, deleted: result.deleted, records: result.records.map(deadLetterJson) };
      });
    },
  );

  api.get<{ Params: NamespaceParams }>(
    '/v1/namespaces/:namespace/dlq/depth',
    { onRequest: guard, schema: { params: paramsSchema, response: dlqResponses(dlqDepthSchema), security } },
    async (request, reply) => {
      const scope = scopeOf(request, reply);
      if (!scope) return reply;
      return answer(reply, () => dlqDepth(scope));
    },
  );
}
