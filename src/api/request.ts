import type { NamespaceConfig, WalConfig } from '../namespaces/types';
import { formatIssue, Mutation, RequestIssue, validateWriteToLogRequest, WriteToLogRequest } from '../wire/intake';
import type { FailureReason, MutationInput, PayloadInput, WriteRequest, WriteResult } from './types';

export type BuiltRequest =
  | { readonly ok: true; readonly record: WriteToLogRequest; readonly namespace: NamespaceConfig }
  | { readonly ok: false; readonly result: WriteResult };

const CONTENT_TYPES = { bytes: 'application/octet-stream', text: 'text/plain; charset=utf-8', json: 'application/json' } as const;

/**
 * Turns a caller's request into the Avro record, or into a `false` result naming every problem.
 * Pure: the clock and the id generator are arguments, nothing is sent.
 */
export function buildWriteRecord(req: WriteRequest, config: WalConfig, now: number, newId: () => string): BuiltRequest {
  const raw = (req ?? {}) as Partial<Record<keyof WriteRequest, unknown>>;
  const id = typeof raw.id === 'string' ? raw.id : newId();
  const fail = (reason: FailureReason, issues: string[]): BuiltRequest => ({
    ok: false,
    result: { durable: 'false', id, reason, message: `nothing was written: ${issues.join('; ')}` },
  });

  if (typeof raw.namespace !== 'string' || raw.namespace === '') return fail('invalid-request', ['namespace: is required']);
  const namespace = config.namespaces.find((ns) => ns.name === raw.namespace);
  if (!namespace) {
    const known = config.namespaces.map((ns) => ns.name).join(', ') || 'none';
    return fail('unknown-namespace', [`namespace: '${raw.namespace}' is not configured (namespaces: ${known})`]);
  }
  // Its intake is the mirror's copy of another namespace's: a write here would reach this region only.
  if (namespace.replicaOf !== undefined) {
    return fail('invalid-request', [`namespace: '${namespace.name}' applies the requests of '${namespace.replicaOf}' that the mirror brings to its cluster: write to '${namespace.replicaOf}'`]);
  }

  const issues: RequestIssue[] = [];
  const invalid = (path: string, message: string): void => {
    issues.push({ path, message, code: 'invalid' });
  };
  if (raw.id !== undefined && typeof raw.id !== 'string') invalid('id', 'must be a string');

  const lifecycle = { writeTime: now, delayMs: null as number | null, deliverAt: null as number | null };
  if (raw.lifecycle !== undefined && raw.lifecycle !== null) {
    if (typeof raw.lifecycle !== 'object') invalid('lifecycle', 'must be an object with delayMs or deliverAt');
    else {
      const { delayMs, deliverAt } = raw.lifecycle as Record<string, unknown>;
      if (delayMs !== undefined && delayMs !== null) {
        if (typeof delayMs !== 'number' || !Number.isFinite(delayMs)) invalid('lifecycle.delayMs', `must be a number of milliseconds, got ${JSON.stringify(delayMs)}`);
        else lifecycle.delayMs = delayMs;
      }
      if (deliverAt !== undefined && deliverAt !== null) {
        const at = toEpochMs(deliverAt);
        if (at === undefined) invalid('lifecycle.deliverAt', `must be epoch milliseconds or an ISO-8601 date-time, got ${JSON.stringify(deliverAt)}`);
        // A past instant is accepted: it means "deliver now".
        else lifecycle.deliverAt = at;
      }
    }
  }

  const mutations: Mutation[] = [];
  if (raw.mutations !== undefined && raw.mutations !== null) {
    if (!Array.isArray(raw.mutations)) invalid('mutations', 'must be an array');
    else raw.mutations.forEach((m, i) => {
      const mutation = toMutation(m as MutationInput, `mutations[${i}]`, invalid);
      if (mutation) mutations.push(mutation);
    });
  }

  let payload: Buffer = Buffer.alloc(0);
  let contentType: string = CONTENT_TYPES.bytes;
  if (raw.payload === undefined || raw.payload === null) {
    if (mutations.length === 0 && !(Array.isArray(raw.mutations) && raw.mutations.length > 0)) invalid('payload', 'is required (or give mutations)');
  } else {
    const encoded = encodePayload(raw.payload as PayloadInput);
    if ('error' in encoded) invalid('payload', encoded.error);
    else ({ bytes: payload, contentType } = encoded);
  }
  if (raw.contentType !== undefined) {
    if (typeof raw.contentType !== 'string' || raw.contentType === '') invalid('contentType', 'must be a non-empty string');
    else contentType = raw.contentType;
  }

  let target: string | null = null;
  if (raw.target !== undefined && raw.target !== null) {
    if (typeof raw.target !== 'string') invalid('target', 'must be a string');
    else target = raw.target;
  }

  const headers: Record<string, string> = {};
  if (raw.headers !== undefined && raw.headers !== null) {
    if (typeof raw.headers !== 'object' || Array.isArray(raw.headers)) invalid('headers', 'must be an object of string values');
    else for (const [k, v] of Object.entries(raw.headers as Record<string, unknown>)) {
      if (typeof v !== 'string') invalid(`headers.${k}`, `must be a string, got ${typeof v}`);
      else headers[k] = v;
    }
  }

  const record: WriteToLogRequest = { namespace: namespace.name, id, lifecycle, payload, contentType, target, headers, mutations };
  if (issues.length === 0) issues.push(...validateWriteToLogRequest(record, namespace));
  if (issues.length > 0) {
    const reason: FailureReason = issues.some((i) => i.code === 'too-large') ? 'payload-too-large' : 'invalid-request';
    return fail(reason, issues.map(formatIssue));
  }
  return { ok: true, record, namespace };
}

function toEpochMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function encodePayload(payload: PayloadInput): { bytes: Buffer; contentType: string } | { error: string } {
  if (Buffer.isBuffer(payload)) return { bytes: payload, contentType: CONTENT_TYPES.bytes };
  if (payload instanceof Uint8Array) return { bytes: Buffer.from(payload), contentType: CONTENT_TYPES.bytes };
  if (typeof payload === 'string') return { bytes: Buffer.from(payload, 'utf8'), contentType: CONTENT_TYPES.text };
  try {
    const text = JSON.stringify(payload);
    if (text === undefined) return { error: `cannot be encoded as JSON (${typeof payload})` };
    return { bytes: Buffer.from(text, 'utf8'), contentType: CONTENT_TYPES.json };
  } catch (error) {
    return { error: `cannot be encoded as JSON: ${(error as Error).message}` };
  }
}

function toMutation(m: MutationInput, at: string, invalid: (path: string, message: string) => void): Mutation | undefined {
  if (!m || typeof m !== 'object') {
    invalid(at, 'must be an object {target, key, op, value?, sequence}');
    return undefined;
  }
  const problems = [
    typeof m.target !== 'string' && `${at}.target`,
    typeof m.key !== 'string' && `${at}.key`,
    typeof m.sequence !== 'number' && `${at}.sequence`,
  ].filter((p): p is string => typeof p === 'string');
  problems.forEach((p) => invalid(p, 'is required'));
  if (problems.length > 0) return undefined;
  let value: Buffer | null = null;
  if (m.value !== undefined && m.value !== null) {
    const encoded = encodePayload(m.value);
    if ('error' in encoded) {
      invalid(`${at}.value`, encoded.error);
      return undefined;
    }
    value = encoded.bytes;
  }
  return { target: m.target, key: m.key, op: m.op, value, sequence: m.sequence };
}
