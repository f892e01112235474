import type { Schema } from 'avsc';
import type { NamespaceConfig } from '../namespaces/types';
import type { AvroCodec } from './codec';
import { InvalidWriteRequestError } from './errors';
import { loadSchema } from './schemas';

/** TypeScript shape of schemas/WriteToLogRequest.avsc as avsc reads it (longs as numbers, bytes as Buffers). */
export type MutationOp = 'PUT' | 'DELETE';

export interface Mutation {
  target: string;
  key: string;
  op: MutationOp;
  /** null for DELETE. */
  value: Buffer | null;
  /** Monotonic per key: an older mutation never overwrites a newer one. */
  sequence: number;
}

export interface Lifecycle {
  /** Epoch ms when the client wrote the request. */
  writeTime: number;
  /** null: the namespace's delay.defaultDelayMs applies. */
  delayMs: number | null;
  /** Epoch ms; a past instant means "now". */
  deliverAt: number | null;
}

export interface WriteToLogRequest {
  namespace: string;
  id: string;
  lifecycle: Lifecycle;
  payload: Buffer;
  contentType: string;
  target: string | null;
  headers: Record<string, string>;
  mutations: Mutation[];
}

export interface RequestIssue {
  /** Field path, e.g. `lifecycle.delayMs`, `mutations[2].key`. */
  readonly path: string;
  readonly message: string;
  /** `too-large` maps to HTTP 413, `unknown-namespace` to 404, the rest to 400. */
  readonly code: 'invalid' | 'too-large' | 'unknown-namespace';
}

export const MAX_ID_LENGTH = 512;

export function formatIssue(issue: RequestIssue): string {
  return `${issue.path}: ${issue.message}`;
}

const isNonNegativeInt = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/**
 * Semantic rules a request must meet beyond its Avro shape; with `namespace`, also the namespace's
 * limits (name, targets, payload size, longest delay). Returns every issue found, empty when valid.
 */
export function validateWriteToLogRequest(req: WriteToLogRequest, namespace?: NamespaceConfig): RequestIssue[] {
  const issues: RequestIssue[] = [];
  const invalid = (path: string, message: string): void => {
    issues.push({ path, message, code: 'invalid' });
  };
  if (!req.namespace) invalid('namespace', 'is empty');
  // A replica reads the mirrored copy of its origin's intake: the requests name the origin.
  else if (namespace && req.namespace !== namespace.name && req.namespace !== namespace.replicaOf) {
    const expected = namespace.replicaOf === undefined ? `'${namespace.name}'` : `'${namespace.replicaOf}' (or its replica '${namespace.name}')`;
    issues.push({ path: 'namespace', message: `'${req.namespace}' is not namespace ${expected} of this intake topic`, code: 'unknown-namespace' });
  }
  if (!req.id) invalid('id', 'is empty');
  else if (req.id.length > MAX_ID_LENGTH) invalid('id', `is ${req.id.length} characters, over ${MAX_ID_LENGTH}`);

  const { writeTime, delayMs, deliverAt } = req.lifecycle;
  if (!isNonNegativeInt(writeTime) || writeTime === 0) invalid('lifecycle.writeTime', `must be a positive epoch-ms integer, got ${writeTime}`);
  if (delayMs !== null && !isNonNegativeInt(delayMs)) invalid('lifecycle.delayMs', `must be a non-negative integer of milliseconds, got ${delayMs}`);
  if (deliverAt !== null && !isNonNegativeInt(deliverAt)) invalid('lifecycle.deliverAt', `must be a non-negative epoch-ms integer, got ${deliverAt}`);
  if (delayMs !== null && deliverAt !== null) invalid('lifecycle', 'has both delayMs and deliverAt: give one');

  for (const key in req.headers) {
    if (!key) invalid('headers', 'has an empty header name');
    if (typeof req.headers[key] !== 'string') invalid(`headers.${key}`, 'must be a string');
  }

  req.mutations.forEach((m, i) => {
    const at = `mutations[${i}]`;
    if (!m.target) invalid(`${at}.target`, 'is empty');
    if (!m.key) invalid(`${at}.key`, 'is empty');
    if (m.op !== 'PUT' && m.op !== 'DELETE') invalid(`${at}.op`, `must be PUT or DELETE, got ${String(m.op)}`);
    if (m.op === 'PUT' && m.value === null) invalid(`${at}.value`, 'a PUT needs a value');
    if (m.op === 'DELETE' && m.value !== null) invalid(`${at}.value`, 'a DELETE carries no value');
    if (!isNonNegativeInt(m.sequence)) invalid(`${at}.sequence`, `must be a non-negative integer, got ${m.sequence}`);
  });

  if (namespace) checkNamespaceLimits(req, namespace, issues);
  return issues;
}

function checkNamespaceLimits(req: WriteToLogRequest, ns: NamespaceConfig, issues: RequestIssue[]): void {
  // Runs for every intake record: the target list is spelled out only for a message.
  const knownList = (): string => (Object.keys(ns.targets).length > 0 ? Object.keys(ns.targets).join(', ') : 'none');
  if (req.target !== null && !(req.target in ns.targets)) {
    issues.push({ path: 'target', message: `'${req.target}' is not a target of namespace '${ns.name}' (targets: ${knownList()})`, code: 'invalid' });
  }
  let bytes = req.payload.length;
  for (let i = 0; i < req.mutations.length; i += 1) {
    const m = req.mutations[i];
    if (m.target && !(m.target in ns.targets)) {
      issues.push({ path: `mutations[${i}].target`, message: `'${m.target}' is not a target of namespace '${ns.name}' (targets: ${knownList()})`, code: 'invalid' });
    }
    bytes += m.value?.length ?? 0;
  }

  if (bytes > ns.maxPayloadBytes) {
    issues.push({ path: 'payload', message: `is ${bytes} bytes, over the ${ns.maxPayloadBytes}-byte limit (maxPayloadBytes) of namespace '${ns.name}'`, code: 'too-large' });
  }

  const { writeTime, delayMs, deliverAt } = req.lifecycle;
  const delay = deliverAt !== null ? deliverAt - writeTime : delayMs;
  const max = ns.delay.maxDelayMs;
  if (max !== null && delay !== null && delay > max) {
    issues.push({
      path: deliverAt !== null ? 'lifecycle.deliverAt' : 'lifecycle.delayMs',
      message: `asks for a ${delay} ms delay, over the ${max} ms limit (maxDelayMs) of namespace '${ns.name}'`,
      code: 'invalid',
    });
  }
}

let intakeSchema: Schema | undefined;

/** The WriteToLogRequest schema this code was built with: the reader schema for intake records. */
export function writeToLogRequestSchema(): Schema {
  intakeSchema ??= loadSchema('WriteToLogRequest');
  return intakeSchema;
}

/**
 * Decodes an intake record into a typed request, projecting whatever schema version wrote it onto
 * the one this code knows, then checks the semantic rules. Throws MalformedRecordError,
 * UnknownSchemaIdError, RegistryUnavailableError (retriable) or InvalidWriteRequestError.
 */
export async function decodeIntakeRecord(codec: AvroCodec, buffer: Buffer | null | undefined, namespace?: NamespaceConfig): Promise<WriteToLogRequest> {
  const request = await codec.decode<WriteToLogRequest>(buffer, writeToLogRequestSchema());
  const issues = validateWriteToLogRequest(request, namespace);
  if (issues.length > 0) throw new InvalidWriteRequestError(issues.map(formatIssue));
  return request;
}

/** When a request is due: deliverAt wins; else writeTime + its delay (or the namespace default). */
export function dueTime(request: WriteToLogRequest, namespace: NamespaceConfig): number {
  const { writeTime, delayMs, deliverAt } = request.lifecycle;
  if (deliverAt !== null) return deliverAt;
  return writeTime + (delayMs ?? namespace.delay.defaultDelayMs);
}
