import type { MutationInput, WriteRequest } from './types';

/**
 * The JSON body of `POST /v1/wal/write` (and each line of `wal produce` input): a WriteRequest whose
 * payload is a JSON value, or raw bytes as `payloadBase64`. Structure only: semantic rules (delays,
 * sizes, targets) are the writer's, so every entry point words them the same way.
 */
export interface WriteBody extends Omit<WriteRequest, 'payload' | 'mutations'> {
  readonly payload?: unknown;
  readonly payloadBase64?: string;
  readonly mutations?: Array<Omit<MutationInput, 'value'> & { value?: unknown; valueBase64?: string }>;
}

const BASE64 = '^[A-Za-z0-9+/]*={0,2}$';

const mutationSchema = {
  type: 'object',
  required: ['target', 'key', 'op', 'sequence'],
  additionalProperties: false,
  properties: {
    target: { type: 'string' },
    key: { type: 'string' },
    op: { type: 'string', enum: ['PUT', 'DELETE'] },
    value: {},
    valueBase64: { type: 'string', pattern: BASE64 },
    sequence: { type: 'integer' },
  },
} as const;

/** JSON schema (for fastify's ajv) of one write body. */
export const writeBodySchema = {
  type: 'object',
  required: ['namespace'],
  additionalProperties: false,
  properties: {
    namespace: { type: 'string', minLength: 1 },
    id: { type: 'string', minLength: 1 },
    lifecycle: {
      type: 'object',
      additionalProperties: false,
      properties: {
        delayMs: { type: 'number' },
        deliverAt: { type: ['number', 'string'] },
      },
    },
    payload: {},
    payloadBase64: { type: 'string', pattern: BASE64 },
    contentType: { type: 'string', minLength: 1 },
    target: { type: 'string' },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    mutations: { type: 'array', items: mutationSchema },
  },
} as const;

/** Turns a parsed body into a WriteRequest (base64 → bytes), or names why it cannot. */
export function writeRequestFromBody(body: WriteBody, defaultNamespace?: string): WriteRequest | { error: string } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { error: 'a write must be a JSON object' };
  const { payloadBase64, payload, mutations, ...rest } = body;
  if (payloadBase64 !== undefined && payload !== undefined) return { error: 'give payload or payloadBase64, not both' };
  let converted: WriteRequest['mutations'];
  if (Array.isArray(mutations)) {
    converted = [];
    for (const [i, m] of mutations.entries()) {
      const { valueBase64, value, ...mutation } = m ?? ({} as never);
      if (valueBase64 !== undefined && value !== undefined) return { error: `mutations[${i}]: give value or valueBase64, not both` };
      converted.push({ ...mutation, value: valueBase64 !== undefined ? Buffer.from(valueBase64, 'base64') : (value as MutationInput['value']) });
    }
  }
  return {
    ...rest,
    namespace: rest.namespace ?? defaultNamespace ?? '',
    payload: payloadBase64 !== undefined ? Buffer.from(payloadBase64, 'base64') : (payload as WriteRequest['payload']),
    ...(converted ? { mutations: converted } : mutations !== undefined ? { mutations: mutations as never } : {}),
  };
}
