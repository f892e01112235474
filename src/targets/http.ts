import type { HttpTargetConfig } from '../namespaces/types';
import { mapWithConcurrency } from './batch';
import { causeChain, describeError, TargetConfigError } from './errors';
import { Delivery, DeliveryResult, failed, MutationDelivery, OK, Target } from './target';

export interface HttpTargetOptions {
  /** Requests of one batch in flight at once. */
  concurrency?: number;
  /** Characters of a failed response's body quoted in the reason. */
  bodyExcerptChars?: number;
}

/** Names the target sets itself, or that a client must not forward (hop-by-hop, framing). */
const RESERVED_HEADERS = new Set([
  'idempotency-key', 'content-type', 'content-length', 'host', 'connection', 'keep-alive', 'transfer-encoding',
  'upgrade', 'te', 'trailer', 'proxy-authorization', 'proxy-authenticate', 'expect',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * One HTTP request per record with Node's built-in fetch. The record id goes out as
 * `Idempotency-Key` so a receiver can drop the duplicates that at-least-once delivery produces.
 * Request headers, lowest precedence first: the record's own headers (valid names, not reserved),
 * the target's configured headers, then Idempotency-Key and Content-Type.
 */
export function createHttpTarget(name: string, config: HttpTargetConfig, options: HttpTargetOptions = {}): Target {
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new TargetConfigError(`target "${name}": http url ${JSON.stringify(config.url)} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TargetConfigError(`target "${name}": http url must be http:// or https://, got ${url.protocol}`);
  }
  if (!(config.timeoutMs > 0)) throw new TargetConfigError(`target "${name}": http timeoutMs must be > 0`);
  const concurrency = options.concurrency ?? 8;
  const excerpt = options.bodyExcerptChars ?? 200;

  const request = async (idempotencyKey: string, contentType: string, body: Buffer | null, extra: Record<string, string>): Promise<DeliveryResult> => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(extra)) if (TOKEN.test(k) && !RESERVED_HEADERS.has(k.toLowerCase())) headers[k] = v;
    Object.assign(headers, config.headers, { 'Idempotency-Key': idempotencyKey, 'Content-Type': contentType });
    try {
      const response = await fetch(url, {
        method: config.method,
        headers,
        body: config.method === 'GET' || body === null ? undefined : body,
        signal: AbortSignal.timeout(config.timeoutMs),
        redirect: 'follow',
      });
      if (response.ok) {
        await response.body?.cancel();
        return OK;
      }
      const text = await response.text().catch(() => '');
      const reason = `HTTP ${response.status} ${response.statusText}`.trim() + (text ? `: ${shorten(text, excerpt)}` : '');
      return failed(isRetriableStatus(response.status), reason);
    } catch (error) {
      return classifyFetchError(error, config.timeoutMs);
    }
  };

  return {
    name,
    async deliver(batch: Delivery[]): Promise<DeliveryResult[]> {
      return mapWithConcurrency(batch, concurrency, (d) => request(d.id, d.contentType, d.payload, d.headers));
    },
    /** Posts the chunk as JSON (values base64); the idempotency key is `<txnId>:<chunkIndex>`. */
    async applyMutations(chunk: MutationDelivery): Promise<DeliveryResult> {
      const body = JSON.stringify({
        txnId: chunk.txnId,
        chunkIndex: chunk.chunkIndex,
        mutations: chunk.mutations.map((m) => ({ ...m, value: m.value === null ? null : m.value.toString('base64') })),
      });
      return request(`${chunk.txnId}:${chunk.chunkIndex}`, 'application/json', Buffer.from(body), {});
    },
    async close(): Promise<void> {
      /* fetch keeps no per-target state */
    },
  };
}

/** 408 (request timeout), 425 (too early), 429 (rate limited) and every 5xx can succeed later. */
export function isRetriableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * fetch rejects with a TimeoutError (our AbortSignal), or a TypeError whose cause is the socket
 * error (ECONNREFUSED, ECONNRESET, ENOTFOUND…): all worth retrying. Anything else is a request we
 * built wrongly (e.g. a header value fetch refuses) and will fail the same way again.
 */
export function classifyFetchError(error: unknown, timeoutMs: number): DeliveryResult {
  const chain = causeChain(error);
  const names = chain.map((e) => (e as { name?: string }).name);
  if (names.includes('TimeoutError') || names.includes('AbortError')) return failed(true, `timed out after ${timeoutMs} ms`);
  const code = chain.map((e) => (e as { code?: unknown }).code).find((c): c is string => typeof c === 'string');
  const root = describeError(chain[chain.length - 1] ?? error);
  if (code) return failed(true, `${code}: ${root}`);
  if ((error as { message?: unknown }).message === 'fetch failed') return failed(true, root);
  return failed(false, root);
}

function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
