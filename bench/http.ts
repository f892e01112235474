/**
 * WriteToLog HTTP benchmark: `wal api` (the real CLI server, its own process) on loopback, driven by
 * a bounded load loop here at a fixed concurrency over keep-alive connections. Each request is one
 * POST /v1/wal/write answered after the broker acknowledged it (acks=all).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { saveConfig } from '../src/namespaces';
import { spawnChild, stopChild, waitForOutput } from './lib/child';
import { clusterA, type BenchContext } from './lib/context';
import { benchKafka, deleteTopics, runId } from './lib/kafka';
import { provisionQueue, queueConfig } from './lib/queue';
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
}

interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly latenciesMs: Float64Array;
  readonly seconds: number;
}

function post(agent: http.Agent, url: URL, body: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: timeoutMs },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

/** `concurrency` workers send back to back until `durationMs` is over; latencies of the answered ones. */
async function load(url: URL, concurrency: number, durationMs: number, makeBody: (i: number) => string): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const end = started + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const body = makeBody(next++);
      const t0 = performance.now();
      try {
        const status = await post(agent, url, body, 15_000);
        if (status === 200) {
          ok += 1;
          latencies.push(performance.now() - t0);
        } else failed += 1;
      } catch {
        failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { ok, failed, latenciesMs: Float64Array.from(latencies), seconds };
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
    ],
    { concurrency: o.concurrency, durationMs: o.durationMs, warmupMs: o.warmupMs, valueBytes: o.valueBytes },
  );
  const kafka = benchKafka(clusterA(ctx).brokers, 'wal-bench-http');
  const name = runId('bench-http');
  const setup = queueConfig(clusterA(ctx), name, { partitions: 4 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-bench-http-'));
  const file = path.join(dir, 'topology.yaml');
  saveConfig(setup.config, file);
  await provisionQueue(kafka, setup.namespace);
  const server = spawnChild(process.execPath, [o.cli, 'api', '--topology', file, '--port', '0', '--host', '127.0.0.1'], { WAL_LOG_LEVEL: 'warn' });
  try {
    const [, address] = await waitForOutput(server, /listening on (http:\/\/[^\s]+)/, 30_000, 'wal api start');
    const url = new URL('/v1/wal/write', address);
    const payload = 'x'.repeat(o.valueBytes);
    let seq = 0;
    const body = () => JSON.stringify({ namespace: name, id: `h-${seq++}`, lifecycle: { delayMs: 0 }, payload });
    // Producers connect and the schema registers on the first writes: not part of any run.
    await load(url, o.concurrency, o.warmupMs, body);
    return await repeat(
      builder,
      o.runs,
      async () => {
        const r = await load(url, o.concurrency, o.durationMs, body);
        const d = distribution(r.latenciesMs);
        return { rps: r.ok / r.seconds, p50: d.p50, p99: d.p99, failed: r.failed };
      },
      ctx.log,
    );
  } finally {
    await stopChild(server);
    fs.rmSync(dir, { recursive: true, force: true });
    await deleteTopics(kafka, (t) => t.startsWith(name));
  }
}
