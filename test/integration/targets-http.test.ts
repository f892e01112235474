import { freePort } from '../../src/devcluster/ports';
import type { HttpTargetConfig } from '../../src/namespaces/types';
import { createTarget, Delivery, Target } from '../../src/targets';
import { HttpTargetServer, respond, startHttpTargetServer } from '../support/http-target';

function delivery(id: string, payload = `{"id":"${id}"}`): Delivery {
  return { id, key: null, payload: Buffer.from(payload), headers: { 'x-trace': `trace-${id}` }, contentType: 'application/json', attempt: 1 };
}

function httpTarget(url: string, overrides: Partial<HttpTargetConfig> = {}): Target {
  const config: HttpTargetConfig = { type: 'http', url, method: 'POST', headers: { 'X-Api-Key': 'secret' }, timeoutMs: 2000, ...overrides };
  return createTarget('hook', config, {});
}

describe('HTTP target', () => {
  let server: HttpTargetServer;
  let target: Target;

  beforeEach(async () => {
    server = await startHttpTargetServer();
    target = httpTarget(server.url);
  });
  afterEach(async () => {
    await target.close();
    await server.close();
  });

  it('delivers each record with its idempotency key, content type and the configured headers; 2xx is ok', async () => {
    const results = await target.deliver([delivery('a'), delivery('b')]);

    expect(results).toEqual([{ ok: true }, { ok: true }]);
    const byKey = new Map(server.received.map((r) => [r.headers['idempotency-key'], r]));
    expect([...byKey.keys()].sort()).toEqual(['a', 'b']);
    const a = byKey.get('a')!;
    expect(a.method).toBe('POST');
    expect(a.path).toBe('/hook');
    expect(a.headers['content-type']).toBe('application/json');
    expect(a.headers['x-api-key']).toBe('secret');
    expect(a.headers['x-trace']).toBe('trace-a');
    expect(a.body.toString()).toBe('{"id":"a"}');
  });

  it('answers 503 as retriable, with the status and body in the reason, and succeeds once the server recovers', async () => {
    server.script(respond.failTimes(1, 503));

    const [first] = await target.deliver([delivery('r1')]);
    const [second] = await target.deliver([delivery('r1')]);

    expect(first).toEqual({ ok: false, retriable: true, reason: expect.stringMatching(/503.*failure 1 of 1/) });
    expect(second).toEqual({ ok: true });
    expect(server.received.map((r) => r.headers['idempotency-key'])).toEqual(['r1', 'r1']);
  });

  it('answers 429 as retriable and 400 as permanent', async () => {
    server.script(respond.always(429, 'slow down'));
    const [limited] = await target.deliver([delivery('x')]);
    server.script(respond.always(400, 'field "amount" is required'));
    const [rejected] = await target.deliver([delivery('y')]);

    expect(limited).toMatchObject({ ok: false, retriable: true, reason: expect.stringContaining('429') });
    expect(rejected).toEqual({ ok: false, retriable: false, reason: expect.stringMatching(/400.*field "amount" is required/) });
  });

  it('answers a response slower than timeoutMs as retriable', async () => {
    await target.close();
    target = httpTarget(server.url, { timeoutMs: 150 });
    server.script(respond.slow(3000));

    const started = Date.now();
    const [result] = await target.deliver([delivery('slow')]);

    expect(result).toEqual({ ok: false, retriable: true, reason: 'timed out after 150 ms' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('answers a refused connection as retriable', async () => {
    const nobody = await freePort();
    const refused = httpTarget(`http://127.0.0.1:${nobody}/hook`);

    const [result] = await refused.deliver([delivery('c')]);

    expect(result).toMatchObject({ ok: false, retriable: true, reason: expect.stringContaining('ECONNREFUSED') });
  });

  it('keeps at most 8 requests of a batch in flight, and answers in batch order', async () => {
    server.script((request) => (request.headers['idempotency-key'] === 'd5' ? { status: 400 } : { status: 200, delayMs: 50 }));
    const batch = Array.from({ length: 20 }, (_, i) => delivery(`d${i}`));

    const results = await target.deliver(batch);

    expect(server.received).toHaveLength(20);
    expect(server.maxInFlight()).toBeLessThanOrEqual(8);
    expect(server.maxInFlight()).toBeGreaterThan(1);
    expect(results.map((r) => r.ok)).toEqual(batch.map((d) => d.id !== 'd5'));
  });

  it('posts a mutation chunk as JSON keyed by transaction and chunk', async () => {
    const result = await target.applyMutations!({
      txnId: 'txn-1',
      chunkIndex: 2,
      mutations: [{ key: 'k', op: 'PUT', value: Buffer.from('v'), sequence: 7 }],
    });

    expect(result).toEqual({ ok: true });
    const [request] = server.received;
    expect(request?.headers['idempotency-key']).toBe('txn-1:2');
    expect(JSON.parse(request.body.toString())).toEqual({
      txnId: 'txn-1',
      chunkIndex: 2,
      mutations: [{ key: 'k', op: 'PUT', value: Buffer.from('v').toString('base64'), sequence: 7 }],
    });
  });
});
