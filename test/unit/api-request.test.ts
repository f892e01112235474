import { bodyLimitFor, buildWriteRecord, classifySendError, statusFor, writeRequestFromBody } from '../../src/api';
import type { WalConfig } from '../../src/namespaces';

const config = {
  clusters: { A: { name: 'A', brokers: ['127.0.0.1:9092'], schemaRegistryUrl: 'http://127.0.0.1:8081' } },
  namespaces: [
    {
      name: 'orders',
      cluster: 'A',
      topics: { intake: 'wal.orders.intake' },
      maxPayloadBytes: 100,
      delay: { defaultDelayMs: 0, maxDelayMs: null },
      targets: { events: { type: 'kafka', topic: 'events', cluster: 'A', partitions: 1 } },
    },
  ],
  sourceFiles: ['test.yaml'],
} as unknown as WalConfig;

const NOW = Date.parse('2026-01-01T00:00:00Z');
const build = (req: unknown) => buildWriteRecord(req as never, config, NOW, () => 'generated-id');

describe('buildWriteRecord', () => {
  it('encodes the payload by kind and defaults the content type', () => {
    const cases: Array<[unknown, string, string]> = [
      [{ order: 1 }, '{"order":1}', 'application/json'],
      [[1, 2], '[1,2]', 'application/json'],
      [42, '42', 'application/json'],
      ['plain text', 'plain text', 'text/plain; charset=utf-8'],
      [Buffer.from([1, 2]), '\u0001\u0002', 'application/octet-stream'],
    ];
    for (const [payload, text, contentType] of cases) {
      const built = build({ namespace: 'orders', payload });
      expect(built.ok && [built.record.payload.toString(), built.record.contentType]).toEqual([text, contentType]);
    }
  });

  it('fills id, writeTime and the lifecycle; an ISO deliverAt becomes epoch ms', () => {
    const built = build({ namespace: 'orders', payload: 'x', lifecycle: { deliverAt: '2025-12-31T23:59:00Z' }, target: 'events', headers: { a: 'b' } });
    expect(built).toMatchObject({
      ok: true,
      record: { id: 'generated-id', lifecycle: { writeTime: NOW, delayMs: null, deliverAt: NOW - 60_000 }, target: 'events', headers: { a: 'b' }, mutations: [] },
    });
  });

  it('allows a mutation-only request without payload', () => {
    const built = build({ namespace: 'orders', mutations: [{ target: 'events', key: 'k', op: 'PUT', value: { v: 1 }, sequence: 3 }] });
    expect(built).toMatchObject({ ok: true, record: { payload: Buffer.alloc(0), mutations: [{ target: 'events', key: 'k', op: 'PUT', value: Buffer.from('{"v":1}'), sequence: 3 }] } });
  });

  it.each<[string, unknown, string, RegExp]>([
    ['unknown namespace', { namespace: 'x', payload: 1 }, 'unknown-namespace', /'x' is not configured \(namespaces: orders\)/],
    ['too large', { namespace: 'orders', payload: 'x'.repeat(101) }, 'payload-too-large', /101 bytes, over the 100-byte limit/],
    ['non-string header', { namespace: 'orders', payload: 1, headers: { n: 1 } }, 'invalid-request', /headers.n: must be a string, got number/],
    ['delay as text', { namespace: 'orders', payload: 1, lifecycle: { delayMs: '5s' } }, 'invalid-request', /lifecycle.delayMs: must be a number of milliseconds, got "5s"/],
    ['unserialisable payload', { namespace: 'orders', payload: { n: BigInt(1) } }, 'invalid-request', /payload: cannot be encoded as JSON/],
    ['mutation without key', { namespace: 'orders', mutations: [{ target: 'events', op: 'DELETE', sequence: 1 }] }, 'invalid-request', /mutations\[0\].key: is required/],
  ])('answers false for %s with a reason and a message', (_what, req, reason, message) => {
    const built = build(req);
    expect(built.ok).toBe(false);
    if (!built.ok) {
      expect(built.result).toMatchObject({ durable: 'false', id: 'generated-id', reason });
      expect(built.result.message).toMatch(message);
    }
  });
});

describe('writeRequestFromBody', () => {
  it('decodes payloadBase64 and valueBase64 to bytes and applies the default namespace', () => {
    expect(writeRequestFromBody({ payloadBase64: 'AAH/', mutations: [{ target: 't', key: 'k', op: 'PUT', valueBase64: 'AQ==', sequence: 1 }] } as never, 'orders')).toEqual({
      namespace: 'orders',
      payload: Buffer.from([0, 1, 255]),
      mutations: [{ target: 't', key: 'k', op: 'PUT', value: Buffer.from([1]), sequence: 1 }],
    });
  });

  it('refuses payload and payloadBase64 together', () => {
    expect(writeRequestFromBody({ namespace: 'orders', payload: 1, payloadBase64: 'AA==' })).toEqual({ error: 'give payload or payloadBase64, not both' });
  });
});

describe('classifySendError', () => {
  const protocolError = (type: string) => Object.assign(new Error(`broker says ${type}`), { name: 'KafkaJSProtocolError', type });
  const retriesExceeded = (cause: Error) => Object.assign(new Error(cause.message), { name: 'KafkaJSNumberOfRetriesExceeded', cause });

  it('treats a broker refusal as not written', () => {
    expect(classifySendError(retriesExceeded(protocolError('MESSAGE_TOO_LARGE')))).toEqual({ status: 'rejected', detail: 'MESSAGE_TOO_LARGE: broker says MESSAGE_TOO_LARGE' });
    expect(classifySendError(protocolError('UNKNOWN_TOPIC_OR_PARTITION')).status).toBe('rejected');
  });

  it('treats lost connections and timeouts as maybe written', () => {
    const closed = Object.assign(new Error('Closed connection'), { name: 'KafkaJSConnectionClosedError' });
    expect(classifySendError(retriesExceeded(closed))).toEqual({ status: 'ambiguous', reason: 'connection-lost', detail: 'Closed connection' });
    const timeout = Object.assign(new Error('Request Produce(key: 0, version: 7) timed out'), { name: 'KafkaJSRequestTimeoutError' });
    expect(classifySendError(timeout)).toMatchObject({ status: 'ambiguous', reason: 'timeout' });
    expect(classifySendError(protocolError('NOT_ENOUGH_REPLICAS')).status).toBe('ambiguous');
  });
});

describe('HTTP mapping', () => {
  it.each([
    [{ durable: 'true' }, 200],
    [{ durable: 'false', reason: 'invalid-request' }, 400],
    [{ durable: 'false', reason: 'unknown-namespace' }, 404],
    [{ durable: 'false', reason: 'namespace-bypassed' }, 409],
    [{ durable: 'false', reason: 'payload-too-large' }, 413],
    [{ durable: 'false', reason: 'broker-unavailable' }, 503],
    [{ durable: 'false', reason: 'registry-unavailable' }, 503],
    [{ durable: 'unknown', reason: 'timeout' }, 504],
    [{ durable: 'unknown', reason: 'connection-lost' }, 503],
  ] as const)('%j → %d', (result, status) => {
    expect(statusFor({ id: 'x', message: '', ...result })).toBe(status);
  });

  it('sizes the body limit from the largest namespace payload', () => {
    expect(bodyLimitFor(config)).toBe(2 * 1024 + 64 * 1024);
  });
});
