import { engineOptionsOf, topologyFor } from '../../src/personas';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startAdminServer, type AdminServer } from '../../src/ops/admin-server';
import { createLogger } from '../../src/observability/logger';
import { parsePrometheusText, sumSamples, type Sample } from '../../src/ops/metrics-text';
import { NamespaceRunner } from '../../src/engine';
import { testCluster, uniqueTopic } from '../support/clusters';
import { countingTopology, testNamespace } from '../support/runtime-fixtures/counting';
import { consumeUntil, countsReached, createTopics, produceKeyed } from '../support/runtime-fixtures/topics';

jest.setTimeout(90_000);
process.env.WAL_LOG_LEVEL ??= 'warn';

const cluster = testCluster('A');
const kafka = new Kafka({ clientId: 'observability-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
const logger = createLogger({}, { level: 'silent' });
const tuning = { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000, maxWaitTimeMs: 200 };

async function scrape(server: AdminServer): Promise<Sample[]> {
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(200);
  return parsePrometheusText(await response.text());
}

async function ready(server: AdminServer): Promise<{ status: number; body: { ready: boolean; details: unknown } }> {
  const response = await fetch(`${server.url}/ready`);
  return { status: response.status, body: (await response.json()) as { ready: boolean; details: unknown } };
}

/** Polls `probe` until it returns a value, or rejects after `timeoutMs` with the last `describe()`. */
async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, describe: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A compacted changelog holding `keys` counts of 1 for store "counts", partition 0. */
async function writeChangelog(topic: string, keys: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    const one = Buffer.alloc(4);
    one.writeUInt32BE(1);
    for (let i = 0; i < keys; i += 2000) {
      const messages = Array.from({ length: Math.min(2000, keys - i) }, (_, j) => ({ key: `k${i + j}`, value: one, partition: 0 }));
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

describe('the admin server of a running namespace (real broker)', () => {
  let stateDir: string;
  const cleanups: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'wal-observability-'));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  });

  it('scraped after a passthrough workload, /metrics shows records processed, commits, assigned tasks and zero lag per partition', async () => {
    const ns = uniqueTopic('obs');
    const input = `${ns}.in`;
    const output = `${ns}.out`;
    await createTopics(kafka, [
      { topic: input, partitions: 2 },
      { topic: output, partitions: 2 },
    ]);
    const namespace = testNamespace(ns, { intake: input, partitions: 2 });
    const runner = new NamespaceRunner({ kafka, engine: engineOptionsOf(namespace), topology: topologyFor(namespace, { clusters: {} }, 'passthrough', { output }), stateDir, instanceId: 'obs-1', logger, tuning });
    const server = await startAdminServer({ port: 0, host: '127.0.0.1', sources: [runner], logger });
    cleanups.push(() => server.close());

    const before = await ready(server);
    expect(before.status).toBe(503);
    expect(before.body).toMatchObject({ ready: false, details: { namespaces: [{ namespace: ns, reason: 'runner is created' }] } });

    await produceKeyed(kafka, input, 500, 50);
    await runner.start();
    cleanups.push(() => runner.stop());
    await consumeUntil(kafka, output, (r) => r.length >= 500, 30_000);

    const labels = { namespace: ns };
    let last: Sample[] = [];
    const samples = await eventually(
      async () => {
        last = await scrape(server);
        const lag = last.filter((s) => s.name === 'wal_consumer_lag_records' && s.labels.namespace === ns);
        const caughtUp = lag.length === 2 && lag.every((s) => s.value === 0);
        // Lag counts flushed output; the offsets commit follows within the commit interval.
        const committed = sumSamples(last, 'wal_runtime_commit_duration_seconds_count', labels) > 0;
        return sumSamples(last, 'wal_runtime_records_processed_total', labels) >= 500 && caughtUp && committed ? last : undefined;
      },
      20_000,
      () => last.filter((s) => s.labels.namespace === ns).map((s) => `${s.name}${JSON.stringify(s.labels)}=${s.value}`).join(', '),
    );
    expect(sumSamples(samples, 'wal_runtime_records_processed_total', labels)).toBeGreaterThanOrEqual(500);
    // Passthrough: every record processed and committed was also sent to the output topic.
    expect(sumSamples(samples, 'wal_runtime_records_out_total', labels)).toBeGreaterThanOrEqual(500);
    expect(sumSamples(samples, 'wal_runtime_commit_duration_seconds_count', { namespace: ns, guarantee: 'at-least-once' })).toBeGreaterThan(0);
    expect(sumSamples(samples, 'wal_runtime_commit_duration_seconds_sum', labels)).toBeGreaterThan(0);
    expect(sumSamples(samples, 'wal_runtime_tasks_assigned', labels)).toBe(2);
    expect(sumSamples(samples, 'wal_namespace_ready', labels)).toBe(1);
    expect(samples.filter((s) => s.name === 'wal_consumer_lag_records' && s.labels.namespace === ns).map((s) => [s.labels.topic, s.labels.partition]).sort()).toEqual([
      [input, '0'],
      [input, '1'],
    ]);
    expect(sumSamples(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    const running = await ready(server);
    expect(running.status).toBe(200);
    expect(running.body).toMatchObject({ ready: true, details: { namespaces: [{ namespace: ns, assigned: [0, 1], restored: [0, 1], restoring: [] }] } });

    // More input shows up as lag until processed; the health endpoint stays up throughout.
    await produceKeyed(kafka, input, 200, 50, 500);
    await eventually(async () => (sumSamples(await scrape(server), 'wal_runtime_records_processed_total', labels) >= 700 ? true : undefined), 20_000, () => 'records processed < 700');
    expect((await fetch(`${server.url}/health`)).status).toBe(200);

    await runner.stop();
    const stopped = await ready(server);
    expect(stopped.status).toBe(503);
    expect(stopped.body).toMatchObject({ details: { namespaces: [{ reason: 'runner is stopped' }] } });
  });

  it('reads an idle member (two instances, one partition) as ready once it joined the group, and it takes over when the other leaves', async () => {
    const ns = uniqueTopic('obs-idle');
    const input = `${ns}.in`;
    const output = `${ns}.out`;
    await createTopics(kafka, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const namespace = testNamespace(ns, { intake: input, partitions: 1 });
    const runners = ['idle-1', 'idle-2'].map(
      (instanceId) => new NamespaceRunner({ kafka, engine: engineOptionsOf(namespace), topology: topologyFor(namespace, { clusters: {} }, 'passthrough', { output }), stateDir: path.join(stateDir, instanceId), instanceId, logger, tuning }),
    );
    const servers = await Promise.all(runners.map((runner) => startAdminServer({ port: 0, host: '127.0.0.1', sources: [runner], logger })));
    cleanups.push(...servers.map((server) => () => server.close()));
    type Details = { namespaces: { joined: boolean; assigned: number[]; reason?: string }[] };
    const answers = async () =>
      Promise.all(
        servers.map(async (server) => {
          const r = await ready(server);
          return { status: r.status, ns: (r.body.details as Details).namespaces[0] };
        }),
      );
    expect((await answers()).map((a) => [a.status, a.ns.joined])).toEqual([[503, false], [503, false]]);

    const started = Date.now();
    for (const runner of runners) {
      await runner.start();
      cleanups.push(() => runner.stop());
    }
    let last: Awaited<ReturnType<typeof answers>> = [];
    const settled = await eventually(
      async () => {
        last = await answers();
        const owners = last.filter((a) => a.ns.assigned.length === 1);
        return owners.length === 1 && last.every((a) => a.status === 200 && a.ns.joined) ? last : undefined;
      },
      25_000,
      () => JSON.stringify(last),
    );
    const idle = settled.findIndex((a) => a.ns.assigned.length === 0);
    expect(settled[idle]).toMatchObject({ status: 200, ns: { joined: true, assigned: [] } });
    expect(settled[idle].ns.reason).toMatch(/^idle: joined the group/);
    expect(sumSamples(await scrape(servers[idle]), 'wal_namespace_ready', { namespace: ns })).toBe(1);
    process.stdout.write(`[observability] idle member ready ${Date.now() - started} ms after the first start\n`);

    // The owner leaves: the idle member takes partition 0 over and reads ready as its owner.
    await runners[1 - idle].stop();
    await eventually(
      async () => {
        const r = await ready(servers[idle]);
        const n = (r.body.details as Details).namespaces[0];
        return r.status === 200 && n.joined && n.assigned.length === 1 && n.reason === undefined ? true : undefined;
      },
      20_000,
      () => 'the idle member did not take partition 0 over',
    );
    expect((await ready(servers[1 - idle])).body.details).toMatchObject({ namespaces: [{ joined: false, reason: 'runner is stopped' }] });
  });

  it('answers /ready with 200 only once the stores were restored from their changelog', async () => {
    const ns = uniqueTopic('obs-restore');
    const input = `${ns}.in`;
    const output = `${ns}.out`;
    await createTopics(kafka, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const namespace = testNamespace(ns, { intake: input, partitions: 1 });
    const topology = countingTopology(input, output);
    // The store's state lives only in its changelog (as after losing the local disk): the runner must
    // replay all of it before it may call itself ready.
    const keys = 20_000;
    await writeChangelog(topology.changelogTopic('counts', `wal.${ns}`)!, keys);
    const runner = new NamespaceRunner({ kafka, engine: engineOptionsOf(namespace), topology, stateDir, instanceId: 'obs-2', logger, tuning });
    const server = await startAdminServer({ port: 0, host: '127.0.0.1', sources: [runner], logger });
    cleanups.push(() => server.close());
    const restoredBefore = sumSamples(await scrape(server), 'wal_state_restore_records_total', { namespace: ns });
    expect(restoredBefore).toBe(0);
    expect(await ready(server)).toMatchObject({ status: 503, body: { details: { namespaces: [{ reason: 'runner is created' }] } } });

    const answers: string[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const r = await ready(server);
        const reason = (r.body.details as { namespaces: { reason?: string }[] }).namespaces[0]?.reason ?? 'ready';
        if (answers[answers.length - 1] !== `${r.status} ${reason}`) answers.push(`${r.status} ${reason}`);
        if (r.status === 200) {
          // Scraped after the first 200: a restore still running would show records left to replay.
          return scrape(server);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return [];
    })();
    const started = Date.now();
    await runner.start();
    cleanups.push(() => runner.stop());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not ready within 60 s: ${answers.join(' → ')}`)), 60_000)));
    const atReady = await Promise.race([poll, timeout]).finally(() => {
      polling = false;
      clearTimeout(timer);
    });
    const readyAfterMs = Date.now() - started;

    expect(answers.slice(0, -1).every((a) => a.startsWith('503 '))).toBe(true);
    expect(answers[answers.length - 1]).toBe('200 ready');
    expect(sumSamples(atReady, 'wal_state_restore_records_total', { namespace: ns, store: 'counts' })).toBe(keys);
    expect(sumSamples(atReady, 'wal_state_restore_remaining_records', { namespace: ns })).toBe(0);
    expect(sumSamples(atReady, 'wal_namespace_partitions_restoring', { namespace: ns })).toBe(0);

    // The restored state is what the task works on: one more record for k5 counts 2.
    await produceKeyed(kafka, input, 1, 6, 5);
    await consumeUntil(kafka, output, countsReached(new Map([['k5', 2]]), true), 30_000);
    process.stdout.write(`[observability] ${keys} changelog records: ready after ${readyAfterMs} ms; /ready answers: ${answers.join(' → ')}\n`);
  });
});
