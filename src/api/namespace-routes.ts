import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { ConfigError } from '../namespaces';
import { describeChange, RegistryRefusalError, type RegistryAdmin } from '../registry/operations';
import { refuseNamespaces } from './auth';
import { withDescription } from './openapi';

/**
 * The namespace registry over HTTP (admin role): what `wal namespace get|history|apply|delete` does,
 * through the same RegistryAdmin. A PUT's body is one namespace as a JSON object, the mapping a
 * topology file would hold under `namespaces:`.
 */

interface NamespaceParams {
  namespace: string;
}

export interface NamespaceRoutesOptions {
  readonly admin: RegistryAdmin;
  /** Hooks every route runs first: the admin key check and the rate limit. */
  readonly guard: onRequestHookHandler[];
  readonly security: Array<Record<string, string[]>> | undefined;
}

const entrySchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    name: { type: 'string' },
    version: { type: 'integer' },
    document: { type: 'object', additionalProperties: true, description: 'the namespace as applied (${ENV} references unresolved)' },
    deleted: { type: 'boolean' },
    appliedAt: { type: 'string' },
    appliedBy: { type: 'string' },
    source: { type: 'string' },
  },
};

const changeSchema = {
  type: 'object',
  properties: {
    action: { type: 'string', enum: ['created', 'updated', 'unchanged', 'deleted'] },
    version: { type: 'integer' },
    previous: { type: 'integer' },
    dryRun: { type: 'boolean' },
    message: { type: 'string' },
  },
};

const responses = (ok: object): Record<string, object> => ({
  200: ok,
  400: withDescription('not a valid namespace (the message names each field); nothing was stored'),
  401: withDescription('no API key, or an unknown one; nothing was stored'),
  403: withDescription("the key lacks the 'admin' role or may not act on this namespace; nothing was stored"),
  404: withDescription('the registry holds no such namespace'),
  409: withDescription('refused: fewer partitions, another cluster, a queue turned mirror, or (delete) pending timers without force; nothing was stored'),
  429: withDescription("over the key's rate limit (see Retry-After)"),
});

function fail(reply: FastifyReply, status: number, message: string, issues?: readonly string[]): FastifyReply {
  return reply.status(status).send({ durable: 'false', message, ...(issues ? { issues } : {}) });
}

export function registerNamespaceRoutes(api: FastifyInstance, options: NamespaceRoutesOptions): void {
  const { admin, guard, security } = options;
  const params = { type: 'object', required: ['namespace'], properties: { namespace: { type: 'string', pattern: '^[a-zA-Z0-9._-]+$' } } };
  const by = (request: FastifyRequest): string => `api:${request.apiKey?.id ?? 'keyless'}`;
  const flag = { type: 'string', enum: ['true', 'false'] };

  /** Runs a registry operation: an invalid config is a 400 naming its fields, a refused change a 409. */
  const answer = async <T>(reply: FastifyReply, work: () => Promise<T>): Promise<T | FastifyReply> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof RegistryRefusalError) return fail(reply, 409, `nothing was stored: ${error.issues.join('; ')}`, error.issues);
      if (error instanceof ConfigError) {
        if (/is not in the registry/.test(error.message)) return fail(reply, 404, error.message);
        return fail(reply, 400, `nothing was stored: ${error.issues.join('; ')}`, error.issues);
      }
      throw error;
    }
  };

  api.get<{ Params: NamespaceParams }>(
    '/v1/namespaces/:namespace',
    { onRequest: guard, schema: { params, response: responses(entrySchema), security } },
    async (request, reply) => {
      if (refuseNamespaces(request, reply, [request.params.namespace], 'administer')) return reply;
      const entry = admin.registry.view.get(request.params.namespace);
      return entry ?? fail(reply, 404, `namespace '${request.params.namespace}' is not in the registry ${admin.topic}`);
    },
  );

  api.get<{ Params: NamespaceParams }>(
    '/v1/namespaces/:namespace/history',
    { onRequest: guard, schema: { params, response: responses({ type: 'object', properties: { versions: { type: 'array', items: entrySchema } } }), security } },
    async (request, reply) => {
      if (refuseNamespaces(request, reply, [request.params.namespace], 'administer')) return reply;
      const versions = admin.registry.view.history(request.params.namespace);
      return versions.length > 0 ? { versions } : fail(reply, 404, `namespace '${request.params.namespace}' was never applied to ${admin.topic}`);
    },
  );

  api.put<{ Params: NamespaceParams; Body: Record<string, unknown>; Querystring: { dryRun?: 'true' | 'false' } }>(
    '/v1/namespaces/:namespace',
    { onRequest: guard, schema: { params, querystring: { type: 'object', properties: { dryRun: flag } }, body: { type: 'object', additionalProperties: true }, response: responses(changeSchema), security } },
    async (request, reply) => {
      const name = request.params.namespace;
      if (refuseNamespaces(request, reply, [name], 'administer')) return reply;
      const body = request.body;
      if (body.name !== undefined && body.name !== name) return fail(reply, 400, `nothing was stored: the body names namespace ${JSON.stringify(body.name)}, the path '${name}'`);
      const dryRun = request.query.dryRun === 'true';
      const document = { file: `PUT /v1/namespaces/${name}`, text: JSON.stringify({ namespaces: [{ ...body, name }] }) };
      return answer(reply, async () => {
        const [change] = await admin.apply([document], by(request), dryRun);
        request.log.info({ namespace: name, action: change.action, version: change.entry.version, dryRun, keyId: request.apiKey?.id }, 'namespace applied');
        return { action: change.action, version: change.entry.version, previous: change.previous, dryRun, message: describeChange(change, dryRun) };
      });
    },
  );

  api.delete<{ Params: NamespaceParams; Querystring: { force?: 'true' | 'false'; dryRun?: 'true' | 'false' } }>(
    '/v1/namespaces/:namespace',
    { onRequest: guard, schema: { params, querystring: { type: 'object', properties: { force: flag, dryRun: flag } }, response: responses(changeSchema), security } },
    async (request, reply) => {
      const name = request.params.namespace;
      if (refuseNamespaces(request, reply, [name], 'administer')) return reply;
      const dryRun = request.query.dryRun === 'true';
      return answer(reply, async () => {
        const { entry } = await admin.delete(name, by(request), 'http', { force: request.query.force === 'true', dryRun });
        request.log.info({ namespace: name, version: entry.version, dryRun, keyId: request.apiKey?.id }, 'namespace deleted');
        return { action: 'deleted', version: entry.version, dryRun, message: `namespace ${name}: ${dryRun ? 'would be deleted' : `deleted (v${entry.version}); its topics are kept`}` };
      });
    },
  );
}
