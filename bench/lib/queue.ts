import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import type { WalWriter, WriteRequest, WriteResult } from '../../src/api';
import { parseConfig, type NamespaceConfig, type WalConfig } from '../../src/namespaces';
import type { ClusterEndpoints } from '../../src/devcluster';
import { applyTopics } from '../../src/kafka';
import { planTopics } from '../../src/namespaces/topic-plan';
import type { Logger } from '../../src/observability/logger';
import { delayedQueueTopology } from '../../src/delayed-queue';
import { NamespaceRunner, type Clock, type RunnerTuning } from '../../src/engine';
import { engineOptionsOf } from '../../src/personas';

export interface QueueOptions {
  readonly partitions: number;
  readonly maxPayloadBytes?: string;
  readonly commitInterval?: string;
  readonly punctuationInterval?: string;
  /** Default at-least-once; exactly-once delivers to the Kafka target in each task's transaction. */
  readonly guarantee?: 'at-least-once' | 'exactly-once';
  /** Requests wait on an SQS queue (`<name>`, DLQ `<name>-dlq`) of this endpoint instead of the intake topic. */
  readonly sqs?: { readonly endpoint: string; readonly receivers: number };
}

export interface QueueSetup {
  readonly config: WalConfig;
  readonly namespace: NamespaceConfig;
  /** The Kafka target's topic. */
  readonly out: string;
}

/** A delayed-queue namespace `name` on `cluster` delivering to the Kafka topic `<name>.out`. */
export function queueConfig(cluster: ClusterEndpoints, name: string, options: QueueOptions): QueueSetup {
  const out = `${name}.out`;
  const sqs = options.sqs
    ? `
    queue: { type: sqs, queueName: ${name}, dlqQueueName: ${name}-dlq, region: us-east-1, endpoint: ${options.sqs.endpoint}, receivers: ${options.sqs.receivers}, waitTimeSeconds: 1 }`
    : '';
  const yaml = `
clusters:
  primary:
    brokers: ${cluster.brokers.join(',')}
    schemaRegistryUrl: ${cluster.registryUrl}
namespaces:
  - name: ${name}
    partitions: ${options.partitions}${sqs}
    delay: { defaultDelayMs: 0 }
    maxPayloadBytes: ${options.maxPayloadBytes ?? '1MiB'}
    backoff: { initialMs: 200, maxMs: 5s, multiplier: 2, jitter: 0.2 }
    maxRetries: 5
    targets:
      out: { type: kafka, topic: ${out} }
    defaultTarget: out
    processingGuarantee: ${options.guarantee ?? 'at-least-once'}
    runtime: { commitIntervalMs: ${options.commitInterval ?? '1s'}, punctuationIntervalMs: ${options.punctuationInterval ?? '100ms'} }
`;
  const config = parseConfig(yaml, `${name}.yaml`);
  return { config, namespace: config.namespaces[0], out };
}

/** Creates the namespace's topics (intake, DLQ, timers changelog, the Kafka target's topic). */
export async function provisionQueue(kafka: Kafka, namespace: NamespaceConfig): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await applyTopics(admin, planTopics(namespace));
  } finally {
    await admin.disconnect();
  }
}

/** Session settings the benches and drills run with (a killed instance's partitions move within ~6 s). */
export const BENCH_TUNING: RunnerTuning = { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 15000, maxWaitTimeMs: 200 };

/** Runs the delayed-queue topology of a namespace in this process. */
export async function startQueue(
  kafka: Kafka,
  setup: QueueSetup,
  options: { logger: Logger; clock?: Clock; stateDir?: string; instanceId?: string },
): Promise<{ runner: NamespaceRunner; stateDir: string }> {
  const stateDir = options.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wal-bench-dq-'));
  const runner = new NamespaceRunner({
    kafka,
    engine: engineOptionsOf(setup.namespace),
    topology: delayedQueueTopology(setup.namespace, { clusters: setup.config.clusters }),
    stateDir,
    instanceId: options.instanceId ?? `bench-${process.pid}`,
    clock: options.clock,
    logger: options.logger,
    tuning: BENCH_TUNING,
  });
  await runner.start();
  return { runner, stateDir };
}

export interface WriteSummary {
  readonly written: number;
  readonly seconds: number;
}

/**
 * Writes `count` requests (`make(i)`) through the WriteToLog library in batches, a few batches in
 * flight. A result other than durable=true is retried with the same id (the documented contract)
 * until `deadlineMs`; then the write fails with the last message.
 */
export async function writeAll(
  writer: WalWriter,
  count: number,
  make: (i: number) => WriteRequest,
  options: { batch?: number; concurrency?: number; deadlineMs?: number; progress?: (line: string) => void } = {},
): Promise<WriteSummary> {
  const batch = options.batch ?? 1000;
  const concurrency = options.concurrency ?? 4;
  const deadline = Date.now() + (options.deadlineMs ?? 600_000);
  const started = Date.now();
  let reported = started;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      if (options.progress && Date.now() - reported >= 30_000) {
        reported = Date.now();
        options.progress(`  writing: ${next.toLocaleString('en-US')} of ${count.toLocaleString('en-US')}`);
      }
      const from = next;
      next = Math.min(count, next + batch);
      let pending: WriteRequest[] = [];
      for (let i = from; i < next; i += 1) pending.push(make(i));
      while (pending.length > 0) {
        const results: WriteResult[] = await writer.writeBatch(pending);
        const failed = pending.filter((_, i) => results[i].durable !== 'true');
        if (failed.length === 0) break;
        const first = results.find((r) => r.durable !== 'true')!;
        if (first.durable === 'false' && (first.reason === 'invalid-request' || first.reason === 'payload-too-large' || first.reason === 'unknown-namespace')) {
          throw new Error(`write rejected: ${first.message}`);
        }
        if (Date.now() > deadline) throw new Error(`${failed.length} writes still not durable at the deadline: ${first.message}`);
        await new Promise((r) => setTimeout(r, 500));
        pending = failed;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { written: count, seconds: (Date.now() - started) / 1000 };
}

export function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/** Collects garbage when node runs with --expose-gc, so RSS readings are not just uncollected garbage. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
