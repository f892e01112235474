/**
 * WriteToLog HTTP benchmark: `wal api` (the real CLI server, its own process) on loopback, driven by
 * a bounded load loop here at a fixed concurrency over keep-alive connections. Each request is one
 * POST /v1/wal/write answered after the broker acknowledged it (acks=all). Each run also measures,
 * with the same load, what HTTP alone allows (a bare fastify route, its own process) and what the
 * broker and kafkajs allow (the same records, `concurrency` at a time): the ratios say which part
 * of the ceiling is wal's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { saveConfig } from '../src/namespaces';
import type { Kafka, Message } from 'kafkajs';
import { createAvroCodec } from '../src/wire/codec';
import { INTAKE_HEADERS } from '../src/wire/headers';
import { writeToLogRequestSchema } from '../src/wire/intake';
import { valueSubject } from '../src/wire/schemas';
import { spawnChild, stopChild, waitForOutput, type Child } from './lib/child';
import { clusterA, type BenchContext } from './lib/context';
import { benchKafka, deleteTopics, runId } from './lib/kafka';
import { provisionQueue, queueConfig } from './lib/queue';
import { postLoad } from './lib/http-load';
import { compiled } from './lib/layout';
import { SENDER_TUNING } from '../src/api/sender';
import { repeat, ReportBuilder, type Report } from './lib/results';
import { distribution } from './lib/stats';

export interface HttpOptions {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly valueBytes: number;
  readonly runs: number;
  /** The CLI entry point (built by `npm run build`). */
  readonly cli: string;
  /** Write a V8 CPU profile of `wal api` (warm-up and every run) into this directory. */
  readonly cpuProfileDir?: string;
}

/**
 * The rate limit `wal api` gets: all clients share one loopback address, whose default limit
 * (1000/s, a flood guard) would be the figure otherwise. Still checked on every request.
 */
export const HTTP_BENCH_RATE_LIMIT = '1000000/1s';

/** A server process's `listening on <url>` line, as `wal api` and http-bare print it. */
async function listening(child: Child, what: string): Promise<string> {
  const [, address] = await waitForOutput(child, /listening on (http:\/\/[^\s]+)/, 30_000, what);
  return address;
}

/**
 * The broker-and-kafkajs baseline: `concurrency` records outstanding, as `concurrency` clients
 * waiting for their answer would have them, sent as one batch at a time through one idempotent
 * producer (acks=all) until `durationMs` is over. Records/s.
 */
async function rawProduce(kafka: Kafka, topic: string, messages: () => Message[], durationMs: number): Promise<number> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    let sent = 0;
    const started = performance.now();
    while (performance.now() - started < durationMs) {
      const batch = messages();
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages: batch }] });
      sent += batch.length;
    }
    return sent / ((performance.now() - started) / 1000);
  } finally {
    await producer.disconnect();
  }
}

export async function benchHttp(ctx: BenchContext, o: HttpOptions): Promise<Report> {
  const builder = new ReportBuilder(
    'http',
    `WriteToLog HTTP (wal api on loopback), ${o.concurrency} concurrent keep-alive clients, ${o.durationMs / 1000} s per run`,
    [
      { key: 'rps', label: 'durable writes/s (HTTP 200)', unit: 'req/s' },
      { key: 'p50', label: 'latency p50', unit: 'ms', digits: 1 },
      { key: 'p99', label: 'latency p99', unit: 'ms', digits: 1 },
      { key: 'failed', label: 'non-200 answers or errors', unit: 'requests', digits: 0 },
      { key: 'bare', label: 'bare fastify route, no Kafka (same load)', unit: 'req/s' },
      { key: 'raw', label: 'raw kafkajs, same records and concurrency', unit: 'rec/s' },
      { key: 'ratio-bare', label: 'wal api / bare fastify route (same run)', unit: '×', digits: 2 },
      { key: 'ratio-raw', label: 'wal api / raw kafkajs (same run)', unit: '×', digits: 2 },
    ],
    {
      concurrency: o.concurrency,
      durationMs: o.durationMs,
      warmupMs: o.warmupMs,
      valueBytes: o.valueBytes,
      rateLimit: HTTP_BENCH_RATE_LIMIT,
      loadGenerator: 'bare keep-alive HTTP/1.1 sockets (bench/lib/http-load.ts)',
      sender: SENDER_TUNING,
      cpuProfile: o.cpuProfileDir ?? null,
    },
  );
  const kafka = benchKafka(clusterA(ctx).brokers, 'wal-bench-http');
  const name = runId('bench-http');
  const setup = queueConfig(clusterA(ctx), name, { partitions: 4 });
  const intake = setup.namespace.topics.intake;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-bench-http-'));
  const file = path.join(dir, 'topology.yaml');
  saveConfig(setup.config, file);
  await provisionQueue(kafka, setup.namespace);
  const profile = o.cpuProfileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`] : [];
  const server = spawnChild(process.execPath, [...profile, o.cli, 'api', '--topology', file, '--port', '0', '--host', '127.0.0.1', '--rate-limit', HTTP_BENCH_RATE_LIMIT], { WAL_LOG_LEVEL: 'warn' });
  const bare = spawnChild(process.execPath, [compiled('bench/http-bare.js')]);
  try {
    const url = new URL('/v1/wal/write', await listening(server, 'wal api start'));
    const bareUrl = new URL('/v1/wal/write', await listening(bare, 'bare fastify start'));
    const payload = 'x'.repeat(o.valueBytes);
    let seq = 0;
    const body = () => JSON.stringify({ namespace: name, id: `h-${seq++}`, lifecycle: { delayMs: 0 }, payload });

    // The raw loop sends what wal api would: the Avro intake record under the same schema, keyed by id.
    const codec = createAvroCodec({ registryUrl: clusterA(ctx).registryUrl });
    const schemaId = await codec.registerSchema(valueSubject(intake), writeToLogRequestSchema());
    const value = await codec.encode(schemaId, {
      namespace: name,
      id: 'h-0',
      lifecycle: { writeTime: Date.now(), delayMs: 0, deliverAt: null },
      payload: Buffer.from(payload),
      contentType: 'text/plain; charset=utf-8',
      target: null,
      headers: {},
      mutations: [],
    });
    const messages = (): Message[] =>
      Array.from({ length: o.concurrency }, () => {
        const id = `r-${seq++}`;
        return { key: id, value, headers: { [INTAKE_HEADERS.id]: id, [INTAKE_HEADERS.namespace]: name }, timestamp: String(Date.now()) };
      });

    // Producers connect and the schema registers on the first writes: not part of any run.
    await postLoad(url, o.concurrency, o.warmupMs, body);
    await postLoad(bareUrl, o.concurrency, Math.min(1000, o.warmupMs), body);
    return await repeat(
      builder,
      o.runs,
      async () => {
        const r = await postLoad(url, o.concurrency, o.durationMs, body);
        const d = distribution(r.latenciesMs);
        const rps = r.ok / r.seconds;
        const b = await postLoad(bareUrl, o.concurrency, o.durationMs, body);
        const bareRps = b.ok / b.seconds;
        const raw = await rawProduce(kafka, intake, messages, o.durationMs);
        return { rps, p50: d.p50, p99: d.p99, failed: r.failed, bare: bareRps, raw, 'ratio-bare': rps / bareRps, 'ratio-raw': rps / raw };
      },
      ctx.log,
    );
  } finally {
    await Promise.all([stopChild(server), stopChild(bare)]);
    fs.rmSync(dir, { recursive: true, force: true });
    await deleteTopics(kafka, (t) => t.startsWith(name));
  }
}
