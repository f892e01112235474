import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DeleteQueueCommand, GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { createWalWriter } from '../../src/api';
import { parseConfig, type NamespaceConfig, type WalConfig } from '../../src/namespaces';
import { rootLogger } from '../../src/observability/logger';
import { metricsRegistry } from '../../src/observability/metrics';
import { SqsRunner } from '../../src/sqs';
import { DLQ_HEADERS } from '../../src/wire/headers';
import { testCluster } from '../support/clusters';
import { collect, configFile, header, percentile, stopCollectors } from '../support/delayed-queue';
import { respond, startHttpTargetServer, type HttpTargetServer } from '../support/http-target';
import { receiveAll, removeSqsQueues, sqsNamespace } from '../support/sqs';
import { eventually, orTimeout } from '../support/timing';
import { killStartedWal, runWal, startWalProcess } from '../support/wal-cli';

jest.setTimeout(180_000);

const runners: SqsRunner[] = [];
const servers: HttpTargetServer[] = [];
afterEach(async () => {
  await Promise.allSettled(runners.splice(0).map((r) => r.stop()));
  await Promise.allSettled(servers.splice(0).map((s) => s.close()));
  await stopCollectors();
  await removeSqsQueues();
});
afterAll(() => killStartedWal());

async function startRunner(config: WalConfig, namespace: NamespaceConfig): Promise<SqsRunner> {
  const runner = new SqsRunner({ namespace, clusters: config.clusters, logger: rootLogger().child({ test: 'sqs' }), depthIntervalMs: 500 });
  runners.push(runner);
  await runner.start();
  return runner;
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const found = (await metricsRegistry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return found?.value ?? 0;
}

describe('SQS-backed delayed queue on ElasticMQ', () => {
  it('delivers 5 k records with random 0–5 s delays to a Kafka target exactly once each, none before it is due', async () => {
    const { config, namespace, out, kafka } = await sqsNamespace({ queue: '      receivers: 4' });
    const received = await collect(kafka, out);
    await startRunner(config, namespace);
    const writer = createWalWriter({ config });
    const total = 5000;
    const dueAtLeast = new Map<string, number>();
    const writeStarted = Date.now();
    for (let start = 0; start < total; start += 500) {
      const requests = Array.from({ length: 500 }, (_, j) => {
        const i = start + j;
        const delay = Math.floor(Math.random() * 5000);
        dueAtLeast.set(`r-${i}`, Date.now() + delay);
        return { namespace: namespace.name, id: `r-${i}`, lifecycle: i % 2 === 0 ? { delayMs: delay } : { deliverAt: Date.now() + delay }, payload: { i } };
      });
      const results = await writer.writeBatch(requests);
      expect(results.filter((r) => r.durable !== 'true')).toEqual([]);
    }
    const writeMs = Date.now() - writeStarted;
    await writer.close();

    await received.waitFor(total, 120_000);
    await new Promise((r) => setTimeout(r, 2000)); // let late duplicates show up
    await received.stop();
    const counts = new Map<string, number>();
    const lateness: number[] = [];
    for (const m of received.messages) {
      const id = header(m, 'wal-id') ?? '';
      counts.set(id, (counts.get(id) ?? 0) + 1);
      lateness.push(Number(m.timestamp) - dueAtLeast.get(id)!);
    }
    expect(counts.size).toBe(total);
    expect([...counts.values()].filter((c) => c !== 1)).toEqual([]);
    // dueAtLeast was taken before writeTime: a record delivered before it would be early.
    expect(lateness.filter((l) => l < 0)).toEqual([]);
    process.stdout.write(
      `[sqs] 5000 records written in ${writeMs} ms (${Math.round((total / writeMs) * 1000)} rec/s); fire lateness p50 ${percentile(lateness, 50)} ms, p99 ${percentile(lateness, 99)} ms, max ${Math.max(...lateness)} ms\n`,
    );
    expect(await metric('wal_delay_delivered_total', { namespace: namespace.name, backend: 'sqs' })).toBe(total);
  });

  it('holds a delay longer than the SQS maximum by re-sending with the remaining delay: delivered on time, never early', async () => {
    const { config, namespace, out, kafka } = await sqsNamespace({ queue: '      maxSqsDelaySeconds: 1' });
    const received = await collect(kafka, out);
    await startRunner(config, namespace);
    const writer = createWalWriter({ config });
    const delays = [3500, 4200, 5000];
    const due = new Map<string, number>();
    for (const [i, delayMs] of delays.entries()) {
      due.set(`long-${i}`, Date.now() + delayMs);
      expect((await writer.writeToLog({ namespace: namespace.name, id: `long-${i}`, lifecycle: { delayMs }, payload: { i } })).durable).toBe('true');
    }
    await writer.close();
    await received.waitFor(delays.length, 30_000);
    for (const m of received.messages) {
      const lateness = Number(m.timestamp) - due.get(header(m, 'wal-id')!)!;
      expect(lateness).toBeGreaterThanOrEqual(0);
      expect(lateness).toBeLessThan(3000);
    }
    // 1 s of SQS delay at a time: each record surfaced early and was re-sent at least twice.
    expect(await metric('wal_sqs_resends_total', { namespace: namespace.name })).toBeGreaterThanOrEqual(2 * delays.length);
  });

  it('retries a failing target with growing gaps (ChangeMessageVisibility + backoff), then delivers', async () => {
    const server = await startHttpTargetServer(respond.failTimes(3));
    servers.push(server);
    const { config, namespace } = await sqsNamespace({ targets: `      hook: { type: http, url: ${server.url} }` });
    const ns: NamespaceConfig = { ...namespace, maxRetries: 5, defaultTarget: 'hook' };
    await startRunner(config, ns);
    const writer = createWalWriter({ config });
    expect((await writer.writeToLog({ namespace: ns.name, id: 'flaky', target: 'hook', payload: { a: 1 } })).durable).toBe('true');
    await writer.close();
    const deadline = Date.now() + 40_000;
    while (server.received.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(server.received.length).toBe(4);
    const gaps = server.received.slice(1).map((r, i) => r.receivedAt - server.received[i].receivedAt);
    // backoff 1 s × 2ⁿ, no jitter, whole seconds of visibility: about 1, 2, 4 s.
    expect(gaps[0]).toBeGreaterThanOrEqual(900);
    expect(gaps[1]).toBeGreaterThan(gaps[0]);
    expect(gaps[2]).toBeGreaterThan(gaps[1]);
    expect(server.received.map((r) => r.headers['idempotency-key'] ?? r.headers['wal-id'])).toEqual(['flaky', 'flaky', 'flaky', 'flaky']);
    process.stdout.write(`[sqs] retry gaps ${gaps.join(', ')} ms\n`);
  });

  it('sends a request whose retries are exhausted to the SQS DLQ with the DLQ reason/kind/attempts attributes, and only then deletes it', async () => {
    const server = await startHttpTargetServer(respond.always(503));
    servers.push(server);
    const { config, namespace, client, queueUrl, dlqUrl } = await sqsNamespace({ targets: `      hook: { type: http, url: ${server.url} }` });
    const ns: NamespaceConfig = { ...namespace, maxRetries: 1 };
    await startRunner(config, ns);
    const writer = createWalWriter({ config });
    expect((await writer.writeToLog({ namespace: ns.name, id: 'doomed', target: 'hook', payload: { a: 1 } })).durable).toBe('true');
    await writer.close();
    const [dead] = await receiveAll(client, dlqUrl, 1, 30_000);
    expect(dead).toBeDefined();
    const attr = (name: string) => dead.MessageAttributes?.[name]?.StringValue;
    expect(attr(DLQ_HEADERS.kind)).toBe('exhausted');
    expect(attr(DLQ_HEADERS.attempts)).toBe('2');
    expect(attr(DLQ_HEADERS.reason)).toMatch(/503/);
    expect(attr(DLQ_HEADERS.id)).toBe('doomed');
    expect(attr(DLQ_HEADERS.target)).toBe('hook');
    expect(JSON.parse(dead.Body!).request.id).toBe('doomed');
    expect(server.received.length).toBe(2);
    expect(await receiveAll(client, queueUrl, 1, 2000)).toEqual([]);
    expect(await metric('wal_dlq_records_total', { namespace: ns.name, kind: 'exhausted', backend: 'sqs' })).toBe(1);
    // The shared depth gauge, from the DLQ queue's GetQueueAttributes (every 500 ms here).
    await eventually(async () => ((await metric('wal_dlq_depth_records', { namespace: ns.name, backend: 'sqs' })) === 1 ? true : undefined), 10_000, 'wal_dlq_depth_records{backend="sqs"} at 1');
  });

  it('lists the SQS DLQ with `wal dlq list` and replays a selection with `wal dlq replay`: that request is delivered, the other stays on the DLQ', async () => {
    const server = await startHttpTargetServer(respond.always(503));
    servers.push(server);
    const { config, namespace, client, dlqUrl } = await sqsNamespace({ targets: `      hook: { type: http, url: ${server.url} }` });
    const ns: NamespaceConfig = { ...namespace, maxRetries: 0, defaultTarget: 'hook' };
    const withNs: WalConfig = { ...config, namespaces: [ns] };
    await startRunner(withNs, ns);
    const writer = createWalWriter({ config: withNs });
    for (const id of ['dl-1', 'dl-2']) expect((await writer.writeToLog({ namespace: ns.name, id, target: 'hook', payload: { id } })).durable).toBe('true');
    await writer.close();
    const deadline = Date.now() + 20_000;
    while ((await metric('wal_dlq_records_total', { namespace: ns.name, kind: 'exhausted' })) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const file = configFile(withNs);

    const listed = await runWal('dlq', ['list', '-n', ns.name, '-t', file]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/id=dl-1 {2}kind=exhausted {2}attempts=1 {2}target=hook/);
    expect(listed.stdout).toMatch(/2 record\(s\) in SQS queue/);
    const dry = await runWal('dlq', ['replay', '-n', ns.name, '-t', file, '--id', 'dl-2', '--dry-run']);
    expect(dry.stdout).toMatch(/would replay 1 record/);

    server.script(respond.ok());
    const before = server.received.length;
    const replay = await runWal('dlq', ['replay', '-n', ns.name, '-t', file, '--id', 'dl-2']);
    expect(replay.stdout).toMatch(/replayed 1 record/);
    const until = Date.now() + 20_000;
    while (server.received.length === before && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(server.received.slice(before).map((r) => r.headers['idempotency-key'])).toEqual(['dl-2']);
    // dl-1 stays on the DLQ, visible again for the next reader.
    const left = await receiveAll(client, dlqUrl, 1, 5000);
    expect(left.map((m) => m.MessageAttributes?.[DLQ_HEADERS.id]?.StringValue)).toEqual(['dl-1']);
  });

  it('dead-letters malformed message bodies with the reason, and keeps delivering the rest', async () => {
    const { config, namespace, out, kafka, client, queueUrl, dlqUrl } = await sqsNamespace();
    const received = await collect(kafka, out);
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'not json at all' }));
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ v: 1, request: { id: 'x' } }) }));
    await startRunner(config, namespace);
    const writer = createWalWriter({ config });
    expect((await writer.writeToLog({ namespace: namespace.name, id: 'good', payload: { ok: true } })).durable).toBe('true');
    await writer.close();
    await received.waitFor(1, 20_000);
    const dead = await receiveAll(client, dlqUrl, 2, 20_000);
    expect(dead.map((m) => m.MessageAttributes?.[DLQ_HEADERS.kind]?.StringValue)).toEqual(['poison', 'poison']);
    const reasons = dead.map((m) => m.MessageAttributes?.[DLQ_HEADERS.reason]?.StringValue ?? '').sort();
    expect(reasons.some((r) => /not JSON/.test(r))).toBe(true);
    expect(reasons.some((r) => /not a wal request envelope/.test(r))).toBe(true);
    expect(dead.map((m) => m.Body).sort()).toEqual([JSON.stringify({ v: 1, request: { id: 'x' } }), 'not json at all'].sort());
  });

  it('answers durable false when SQS cannot be reached, and unknown when it takes the request but never answers, within the timeout', async () => {
    // Nothing listens on a port just freed: connection refused, nothing written.
    const closedPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    // A server that accepts and never answers: the send may have landed.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as net.AddressInfo).port;
    try {
      for (const [endpoint, expected] of [
        [`http://127.0.0.1:${closedPort}`, 'false'],
        [`http://127.0.0.1:${silentPort}`, 'unknown'],
      ] as const) {
        const config = parseConfig(
          `
clusters:
  primary: { brokers: ${testCluster('A').brokers.join(',')}, schemaRegistryUrl: ${testCluster('A').registryUrl} }
namespaces:
  - name: down
    queue: { type: sqs, queueUrl: ${endpoint}/000000000000/down, region: us-east-1, endpoint: ${endpoint} }
    targets: { out: { type: kafka, topic: out } }
`,
          'down.yaml',
        );
        const writer = createWalWriter({ config, timeoutMs: 3000, stateRefreshMs: 60_000 });
        const started = Date.now();
        const result = await orTimeout(writer.writeToLog({ namespace: 'down', id: `id-${expected}`, payload: { a: 1 } }), 10_000, 'hung' as const);
        const took = Date.now() - started;
        await writer.close();
        expect(result).not.toBe('hung');
        if (result === 'hung') return;
        expect(result.durable).toBe(expected);
        expect(result.message).toMatch(expected === 'false' ? /cannot reach SQS|nothing was written/ : /may or may not/);
        expect(took).toBeLessThan(5000);
      }
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });

  it('creates the queues it names with `wal start --create-topics`, then delivers through them', async () => {
    const { config, namespace, out, kafka, client } = await sqsNamespace();
    const fresh = `${namespace.name}-new`;
    const queue = { ...(namespace.queue as Extract<NamespaceConfig['queue'], { type: 'sqs' }>), queueName: fresh, dlqQueueName: `${fresh}-dlq` };
    const ns: NamespaceConfig = { ...namespace, queue };
    const withFresh: WalConfig = { ...config, namespaces: [ns] };
    const received = await collect(kafka, out);
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-sqs-create-'));
    const wal = await startWalProcess({ configFile: configFile(withFresh), stateDir, instanceId: 'sqs-create', extraArgs: ['--create-topics'] });
    expect(wal.output()).toMatch(/SQS queues ready/);
    const writer = createWalWriter({ config: withFresh });
    expect((await writer.writeToLog({ namespace: ns.name, id: 'created', payload: { a: 1 } })).durable).toBe('true');
    await writer.close();
    await received.waitFor(1, 20_000);
    wal.child.kill('SIGTERM');
    expect(await orTimeout(wal.exited, 20_000, 'still running')).toBe(0);
    for (const name of [fresh, `${fresh}-dlq`]) {
      const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: name }));
      await client.send(new DeleteQueueCommand({ QueueUrl }));
    }
  });

  it('stops receiving on `wal namespace pause` and delivers what waited on `resume`', async () => {
    const { config, namespace, out, kafka } = await sqsNamespace();
    const received = await collect(kafka, out);
    const file = configFile(config);
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-sqs-pause-'));
    await startWalProcess({ configFile: file, stateDir, instanceId: 'sqs-pause', extraArgs: ['--state-interval', '300ms'] });
    const writer = createWalWriter({ config });
    expect((await writer.writeToLog({ namespace: namespace.name, id: 'warm', payload: {} })).durable).toBe('true');
    await received.waitFor(1, 20_000);
    const paused = await runWal('namespace', ['pause', namespace.name, '-t', file, '--by', 'sqs-test']);
    expect(paused.stdout).toMatch(/paused/);
    // The follower applies it within its interval; a long poll already waiting (1 s) may still return.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await writer.writeToLog({ namespace: namespace.name, id: 'while-paused', payload: {} })).durable).toBe('true');
    await new Promise((r) => setTimeout(r, 3000));
    expect(received.messages.map((m) => header(m, 'wal-id'))).toEqual(['warm']);
    expect((await runWal('namespace', ['resume', namespace.name, '-t', file, '--by', 'sqs-test'])).code).toBe(0);
    await received.waitFor(2, 15_000);
    expect(received.messages.map((m) => header(m, 'wal-id'))).toEqual(['warm', 'while-paused']);
    await writer.close();
  });

  it('loses nothing when `wal start` is killed with -9 mid-run: a second instance delivers the rest', async () => {
    const { config, namespace, out, kafka } = await sqsNamespace({ queue: '      visibilityTimeoutMs: 3s' });
    const received = await collect(kafka, out);
    const file = configFile(config);
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-sqs-crash-'));
    const first = await startWalProcess({ configFile: file, stateDir, instanceId: 'sqs-1' });
    const writer = createWalWriter({ config });
    const total = 1000;
    const results = await writer.writeBatch(Array.from({ length: total }, (_, i) => ({ namespace: namespace.name, id: `k-${i}`, lifecycle: { delayMs: Math.floor(Math.random() * 3000) }, payload: { i } })));
    expect(results.filter((r) => r.durable !== 'true')).toEqual([]);
    await writer.close();
    const deadline = Date.now() + 20_000;
    while (received.messages.length < total / 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    first.child.kill('SIGKILL');
    await orTimeout(first.exited, 10_000, undefined);
    const atKill = received.messages.length;
    expect(atKill).toBeLessThan(total);
    await startWalProcess({ configFile: file, stateDir, instanceId: 'sqs-2' });
    // Repeats count as messages: wait for every distinct id, not for `total` messages.
    const distinct = () => new Set(received.messages.map((m) => header(m, 'wal-id'))).size;
    const until = Date.now() + 60_000;
    while (distinct() < total && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(distinct()).toBe(total);
    process.stdout.write(`[sqs] kill -9 after ${atKill} of ${total} delivered; ${received.messages.length} deliveries for ${distinct()} ids (0 lost, ${received.messages.length - total} repeats)\n`);
  });
});
