import type { NamespaceConfig } from '../namespaces/types';
import { InvalidWriteRequestError, MalformedRecordError } from './errors';
import { formatIssue, validateWriteToLogRequest, type WriteToLogRequest } from './intake';

/**
 * The body of a request waiting in an SQS queue: the WriteToLogRequest as JSON, bytes as base64.
 * JSON rather than Avro so an SQS namespace needs no schema registry and a message stays readable
 * in the AWS console; `v` lets the shape change later.
 */
interface SqsBody {
  readonly v: 1;
  readonly request: Omit<WriteToLogRequest, 'payload' | 'mutations'> & {
    readonly payload: string;
    readonly mutations: ReadonlyArray<Omit<WriteToLogRequest['mutations'][number], 'value'> & { readonly value: string | null }>;
  };
}

export function encodeSqsBody(request: WriteToLogRequest): string {
  const body: SqsBody = {
    v: 1,
    request: {
      ...request,
      payload: request.payload.toString('base64'),
      mutations: request.mutations.map((m) => ({ ...m, value: m.value === null ? null : m.value.toString('base64') })),
    },
  };
  return JSON.stringify(body);
}

/** Reads a message body back; throws MalformedRecordError (not JSON, wrong shape) or InvalidWriteRequestError. */
export function decodeSqsBody(text: string | undefined, namespace?: NamespaceConfig): WriteToLogRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch (error) {
    throw new MalformedRecordError(`SQS message body is not JSON: ${(error as Error).message}`);
  }
  const body = parsed as Partial<SqsBody> | null;
  const raw = body?.request;
  if (!body || body.v !== 1 || !raw || typeof raw !== 'object' || typeof raw.payload !== 'string' || !Array.isArray(raw.mutations) || typeof raw.lifecycle !== 'object' || raw.lifecycle === null) {
    throw new MalformedRecordError('SQS message body is not a wal request envelope ({ v: 1, request: { …, payload: base64 } })');
  }
  const request: WriteToLogRequest = {
    namespace: String(raw.namespace ?? ''),
    id: String(raw.id ?? ''),
    lifecycle: { writeTime: raw.lifecycle.writeTime, delayMs: raw.lifecycle.delayMs ?? null, deliverAt: raw.lifecycle.deliverAt ?? null },
    payload: Buffer.from(raw.payload, 'base64'),
    contentType: String(raw.contentType ?? 'application/octet-stream'),
    target: raw.target ?? null,
    headers: raw.headers && typeof raw.headers === 'object' ? raw.headers : {},
    mutations: raw.mutations.map((m) => ({ ...m, value: m.value === null ? null : Buffer.from(String(m.value), 'base64') })),
  };
  const issues = validateWriteToLogRequest(request, namespace);
  if (issues.length > 0) throw new InvalidWriteRequestError(issues.map(formatIssue));
  return request;
}
