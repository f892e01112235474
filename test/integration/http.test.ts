import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Kafka, logLevel } from 'kafkajs';
import { createHttpServer, createWalWriter, WalWriter } from '../../src/api';
import { parseConfig } from '../../src/namespaces';
import type { WalConfig } from '../../src/namespaces';
import { createAvroCodec, WriteToLogRequest } from '../../src/wire';
import { testCluster, uniqueTopic } from '../support/clusters';

const cluster = testCluster('A');
const kafka = new Kafka({ clientId: 'http-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING });

function walConfig(intake: string, brokers = cluster.brokers.join(',')): WalConfig {
  return parseConfig(
    `
clusters:
  A: { brokers: "${brokers}", schemaRegistryUrl: "${cluster.registryUrl}" }
namespaces:
  - name: orders
    cluster: A
    partitions: 1
    topics: { intake: ${intake} }
    maxPayloadBytes: 1KiB
    targets:
      events: { type: kafka, topic: ${intake}-delivered }
`,
    'http.test.yaml',
  );
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The record at `offset` of partition 0, decoded. */
async function readAt(topic: string, offset: string): Promise<WriteToLogRequest> {
  const codec = createAvroCodec({ registryUrl: cluster.registryUrl });
  const consumer = kafka.consumer({ groupId: uniqueTopic('http-test-reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    return await new Promise<WriteToLogRequest>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no record at ${topic}@${offset} within 20 s`)), 20000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.offset !== offset) return;
          clearTimeout(timer);
          resolve(await codec.decode<WriteToLogRequest>(message.value));
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

interface Reply<T = Record<string, unknown>> {
  statusCode: number;
  body: T;
}

/** A real HTTP request (light-my-request's inject cannot load its ESM-only `cookie` under jest). */
async function call<T = Record<string, unknown>>(base: string, method: 'GET' | 'POST', url: string, body?: unknown, raw?: string): Promise<Reply<T>> {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {},
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  return { statusCode: response.status, body: (await response.json()) as T };
}

describe('WriteToLog HTTP API', () => {
  const intake = uniqueTopic('http-intake');
  const config = walConfig(intake);
  let writer: WalWriter;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: intake, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    writer = createWalWriter({ config, timeoutMs: 5000 });
    app = createHttpServer({ writer, config });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app.close();
    await writer.close();
  });

  it('GET /health answers 200; GET /ready answers 200 once the producers are connected', async () => {
    expect(await call(base, 'GET', '/health')).toEqual({ statusCode: 200, body: { status: 'ok' } });
    await writer.connect();
    expect(await call(base, 'GET', '/ready')).toEqual({ statusCode: 200, body: { ready: true } });
  });

  it('POST /v1/wal/write answers 200 durable true, and the record is on the intake topic', async () => {
    const response = await call<{ offset: string }>(base, 'POST', '/v1/wal/write', { namespace: 'orders', id: 'http-1', lifecycle: { delayMs: 1000 }, payload: { order: 1 }, headers: { tenant: 'acme' } });
    expect(response.statusCode).toBe(200);
    const result = response.body;
    expect(result).toMatchObject({ durable: 'true', id: 'http-1', partition: 0, offset: expect.any(String) });
    expect(await readAt(intake, result.offset)).toMatchObject({ id: 'http-1', payload: Buffer.from('{"order":1}'), contentType: 'application/json', headers: { tenant: 'acme' } });
  });

  it('carries raw bytes given as payloadBase64', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const response = await call<{ offset: string }>(base, 'POST', '/v1/wal/write', { namespace: 'orders', payloadBase64: bytes.toString('base64') });
    expect(response.statusCode).toBe(200);
    expect(await readAt(intake, response.body.offset)).toMatchObject({ payload: bytes, contentType: 'application/octet-stream' });
  });

  it.each([
    ['a string where a number belongs', { namespace: 'orders', payload: 1, lifecycle: { delayMs: '5' } }, 400, /body\/lifecycle\/delayMs must be number/],
    ['an unknown field (a typo)', { namespace: 'orders', payload: 1, delay: 5 }, 400, /must NOT have additional properties/],
    ['no namespace', { payload: 1 }, 400, /must have required property 'namespace'/],
    ['both payload and payloadBase64', { namespace: 'orders', payload: 1, payloadBase64: 'AA==' }, 400, /payload or payloadBase64, not both/],
    ['a negative delay', { namespace: 'orders', payload: 1, lifecycle: { delayMs: -1 } }, 400, /lifecycle.delayMs: must be a non-negative integer/],
    ['an unknown target', { namespace: 'orders', payload: 1, target: 'nope' }, 400, /target: 'nope' is not a target of namespace 'orders'/],
    ['an unknown namespace', { namespace: 'billing', payload: 1 }, 404, /'billing' is not configured/],
    ['a payload over the namespace limit', { namespace: 'orders', payload: 'x'.repeat(3000) }, 413, /payload: is 3000 bytes, over the 1024-byte limit/],
    ['a body over the endpoint limit', { namespace: 'orders', payload: 'x'.repeat(200_000) }, 413, /request body is over the \d+-byte limit of \/v1\/wal\/write/],
  ])('answers durable false for %s', async (_what, body, status, message) => {
    const response = await call(base, 'POST', '/v1/wal/write', body);
    expect(response.statusCode).toBe(status);
    expect(response.body).toMatchObject({ durable: 'false', message: expect.stringMatching(message) });
  });

  it('answers 400 for a body that is not JSON', async () => {
    const response = await call(base, 'POST', '/v1/wal/write', undefined, '{"namespace": ');
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatchObject({ durable: 'false', message: expect.stringMatching(/JSON/) });
  });

  it('POST /v1/wal/write-batch answers per item', async () => {
    const response = await call<{ results: Array<{ durable: string; id: string; message: string; offset?: string }>; durable: Record<string, number> }>(base, 'POST', '/v1/wal/write-batch', [
        { namespace: 'orders', id: 'batch-1', payload: 'a' },
        { namespace: 'orders', id: 'batch-2', payload: 'b', lifecycle: { delayMs: -5 } },
        { namespace: 'nope', id: 'batch-3', payload: 'c' },
        { namespace: 'orders', id: 'batch-4', payload: 'd' },
    ]);
    expect(response.statusCode).toBe(200);
    const body = response.body;
    expect(body.results.map((r) => [r.id, r.durable])).toEqual([
      ['batch-1', 'true'],
      ['batch-2', 'false'],
      ['batch-3', 'false'],
      ['batch-4', 'true'],
    ]);
    expect(body.results[1].message).toMatch(/lifecycle.delayMs/);
    expect(body.durable).toEqual({ true: 2, false: 2, unknown: 0 });
    expect(await readAt(intake, body.results[3].offset ?? '')).toMatchObject({ id: 'batch-4' });
  });

  it('rejects a write-batch with a malformed item as a whole, naming the item', async () => {
    const response = await call(base, 'POST', '/v1/wal/write-batch', [{ namespace: 'orders', payload: 1 }, { namespace: 5 }]);
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatchObject({ durable: 'false', message: expect.stringMatching(/body\/1\/namespace must be string/) });
  });

  it('answers /ready 503 and a write 503 durable false when no broker answers', async () => {
    const downConfig = walConfig(uniqueTopic('http-down'), `127.0.0.1:${await closedPort()}`);
    const downWriter = createWalWriter({ config: downConfig, timeoutMs: 2000 });
    const down = createHttpServer({ writer: downWriter, config: downConfig });
    const downBase = await down.listen({ port: 0, host: '127.0.0.1' });
    try {
      expect((await call(downBase, 'GET', '/ready')).statusCode).toBe(503);
      const response = await call(downBase, 'POST', '/v1/wal/write', { namespace: 'orders', payload: 1 });
      expect(response.statusCode).toBe(503);
      expect(response.body).toMatchObject({ durable: 'false', reason: 'broker-unavailable' });
    } finally {
      await down.close();
      await downWriter.close();
    }
  });
});
