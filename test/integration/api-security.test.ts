import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { mintApiKey } from '../../src/api';
import { testCluster, uniqueTopic } from '../support/clusters';
import { ordersNamespace, runWal, startWalApi, WalApiProcess } from '../support/wal-cli';

const cluster = testCluster('A');

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function post(base: string, url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${base}${url}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

/** Records on partition 0 of `topic` so far (its high watermark). */
async function recordsOn(topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'api-security-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [partition] = await admin.fetchTopicOffsets(topic);
    return Number(partition.high);
  } finally {
    await admin.disconnect();
  }
}

describe('wal api with API keys, against the real cluster', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-api-security-'));
  const intake = uniqueTopic('api-security-intake');
  const topology = path.join(dir, 'orders.yaml');
  const keysFile = path.join(dir, 'keys.yaml');
  let writerKey: string;
  let otherKey: string;
  let slowKey: string;
  let adminOnlyKey: string;
  let api: WalApiProcess;

  beforeAll(async () => {
    await ordersNamespace(topology, intake);
    // Minted and written as an operator would: `wal api key create` prints the key and the line.
    const created = await runWal('api', ['key', 'create', '--id', 'ci', '--namespaces', 'orders', '--roles', 'write']);
    expect(created.code).toBe(0);
    const [, key, , line] = created.stdout.trimEnd().split('\n');
    writerKey = key;
    const other = mintApiKey();
    const slow = mintApiKey();
    const adminOnly = mintApiKey();
    [otherKey, slowKey, adminOnlyKey] = [other.key, slow.key, adminOnly.key];
    fs.writeFileSync(
      keysFile,
      [
        'keys:',
        line,
        `  - { id: billing-only, hash: "${other.hash}", namespaces: [billing], roles: [write] }`,
        `  - { id: slow, hash: "${slow.hash}", namespaces: ["*"], roles: [write], rateLimit: { max: 2, timeWindow: 1m } }`,
        `  - { id: ops, hash: "${adminOnly.hash}", namespaces: ["*"], roles: [admin] }`,
        '',
      ].join('\n'),
    );
    expect(fs.readFileSync(keysFile, 'utf8')).not.toContain(writerKey);
    api = await startWalApi(['-t', topology, '--port', '0', '--host', '127.0.0.1', '--keys-file', keysFile], { WAL_LOG_LEVEL: 'info' });
  });

  afterAll(async () => {
    await api?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes with a valid key, as Bearer or X-API-Key: 200 durable true', async () => {
    const before = await recordsOn(intake);
    const bearer = await post(api.base, '/v1/wal/write', { namespace: 'orders', id: 'sec-1', payload: { order: 1 } }, { authorization: `Bearer ${writerKey}` });
    expect(bearer).toMatchObject({ status: 200, body: { durable: 'true', id: 'sec-1', partition: 0, offset: String(before) } });
    const header = await post(api.base, '/v1/wal/write-batch', [{ namespace: 'orders', id: 'sec-2', payload: 2 }], { 'x-api-key': writerKey });
    expect(header).toMatchObject({ status: 200, body: { durable: { true: 1, false: 0, unknown: 0 } } });
    expect(await recordsOn(intake)).toBe(before + 2);
  });

  it('answers 401 with durable false for no key or an unknown key, before reading the body, and writes nothing', async () => {
    const before = await recordsOn(intake);
    const none = await post(api.base, '/v1/wal/write', { namespace: 'orders', payload: 1 });
    expect(none).toMatchObject({ status: 401, body: { durable: 'false', message: expect.stringMatching(/no API key/) } });
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="wal"');
    const unknown = await post(api.base, '/v1/wal/write', { namespace: 'orders', payload: 1 }, { authorization: `Bearer ${mintApiKey().key}` });
    expect(unknown).toMatchObject({ status: 401, body: { durable: 'false', message: expect.stringMatching(/unknown API key/) } });
    // An invalid body still gets 401: nothing about the API is answered to an unauthenticated client.
    expect((await post(api.base, '/v1/wal/write', { nope: true }, { 'x-api-key': 'guess' })).status).toBe(401);
    expect(await recordsOn(intake)).toBe(before);
  });

  it("answers 403 for a namespace the key may not write (a batch as a whole) or a key without the write role, and writes nothing", async () => {
    const before = await recordsOn(intake);
    const foreign = await post(api.base, '/v1/wal/write', { namespace: 'orders', payload: 1 }, { authorization: `Bearer ${otherKey}` });
    expect(foreign).toMatchObject({ status: 403, body: { durable: 'false', message: "nothing was written: API key 'billing-only' may not write namespace 'orders'" } });
    const batch = await post(api.base, '/v1/wal/write-batch', [{ namespace: 'orders', payload: 1 }, { namespace: 'payments', payload: 2 }], { authorization: `Bearer ${writerKey}` });
    expect(batch).toMatchObject({ status: 403, body: { durable: 'false', message: expect.stringMatching(/may not write namespace 'payments'/) } });
    const adminOnly = await post(api.base, '/v1/wal/write', { namespace: 'orders', payload: 1 }, { authorization: `Bearer ${adminOnlyKey}` });
    expect(adminOnly).toMatchObject({ status: 403, body: { durable: 'false', message: expect.stringMatching(/'ops' does not have the write role/) } });
    expect(await recordsOn(intake)).toBe(before);
  });

  it("answers 429 with Retry-After past the key's own rate limit, and other keys keep writing", async () => {
    const write = () => post(api.base, '/v1/wal/write', { namespace: 'orders', payload: 'slow' }, { authorization: `Bearer ${slowKey}` });
    expect((await write()).status).toBe(200);
    expect((await write()).status).toBe(200);
    const limited = await write();
    expect(limited).toMatchObject({ status: 429, body: { durable: 'false', message: expect.stringMatching(/over the rate limit of API key 'slow' \(2 requests per 60000 ms\)/) } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect((await post(api.base, '/v1/wal/write', { namespace: 'orders', payload: 'other' }, { authorization: `Bearer ${writerKey}` })).status).toBe(200);
  });

  it('echoes x-request-id (or makes one), sends security headers, and logs the request with its id', async () => {
    const given = await post(api.base, '/v1/wal/write', { namespace: 'orders', payload: 1 }, { 'x-request-id': 'trace-401-a' });
    expect(given.headers.get('x-request-id')).toBe('trace-401-a');
    expect(given.headers.get('x-content-type-options')).toBe('nosniff');
    expect(given.headers.get('content-security-policy')).toContain("default-src 'self'");
    const made = await post(api.base, '/v1/wal/write', { namespace: 'orders', payload: 1 });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const deadline = Date.now() + 5000;
    while (!api.stdout().includes('trace-401-a') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const line = api.stdout().split('\n').find((l) => l.includes('trace-401-a'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ requestId: 'trace-401-a', status: 401, msg: expect.stringMatching(/no API key/) });
  });

  it('publishes the OpenAPI document with the key schemes, and a docs page', async () => {
    const document = (await (await fetch(`${api.base}/openapi.json`)).json()) as { openapi: string; components: { securitySchemes: object }; paths: Record<string, { post?: { security?: unknown } }> };
    expect(document.openapi).toBe('3.1.0');
    expect(document.components.securitySchemes).toEqual({
      bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      apiKeyHeader: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
    });
    expect(document.paths['/v1/wal/write'].post?.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    const docs = await fetch(`${api.base}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
  });
});

describe('wal api without keys, where it may listen, and TLS', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-api-listen-'));
  const topology = path.join(dir, 'orders.yaml');
  const intake = uniqueTopic('api-listen-intake');

  beforeAll(() => ordersNamespace(topology, intake));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a non-loopback address without keys, and exits 1 with the reason', async () => {
    const run = await runWal('api', ['-t', topology, '--port', '0', '--host', '0.0.0.0'], 30_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refusing to listen on 0.0.0.0 without API keys.*--insecure/);
  });

  it('limits each client address on a keyless loopback server: 429 with Retry-After', async () => {
    const api = await startWalApi(['-t', topology, '--port', '0', '--rate-limit', '2/1m']);
    try {
      const write = () => post(api.base, '/v1/wal/write', { namespace: 'orders', payload: 'keyless' });
      expect([(await write()).status, (await write()).status]).toEqual([200, 200]);
      const limited = await write();
      expect(limited).toMatchObject({ status: 429, body: { durable: 'false', message: expect.stringMatching(/over the rate limit of client 127.0.0.1 \(2 requests per 60000 ms\)/) } });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await api.stop();
    }
  });

  it('listens there with --insecure, warning at start', async () => {
    const api = await startWalApi(['-t', topology, '--port', '0', '--host', '0.0.0.0', '--insecure']);
    try {
      expect((await fetch(`${api.base.replace('0.0.0.0', '127.0.0.1')}/health`)).status).toBe(200);
      expect(api.stdout()).toMatch(/INSECURE: no API keys and --insecure/);
    } finally {
      await api.stop();
    }
  });

  it('serves HTTPS with --tls-cert/--tls-key', async () => {
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const api = await startWalApi(['-t', topology, '--port', '0', '--tls-cert', cert, '--tls-key', key]);
    try {
      expect(api.base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const status = await new Promise<number | undefined>((resolve, reject) => {
        https.get(`${api.base}/health`, { ca: fs.readFileSync(cert) }, (response) => {
          response.resume();
          resolve(response.statusCode);
        }).on('error', reject);
      });
      expect(status).toBe(200);
    } finally {
      await api.stop();
    }
  });
});
