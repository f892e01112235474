/**
 * The SQS-backed delayed queue next to the Kafka one, same run, same records (numbers, not assertions).
 * Per backend and run, one fresh namespace delivering to a Kafka target:
 *  - drain: N due records written while nothing delivers, then the delivery loop started: records/s;
 *  - delayed: N records due 2–5 s after their write, written while it delivers: write → delivered
 *    records/s and fire lateness (delivery time on the target − due time) p50/p99/max, early, repeats.
 */
import { rm } from 'node:fs/promises';
import { DeleteQueueCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import type { Kafka } from 'kafkajs';
import { createWalWriter } from '../src/api';
import { createSqsClient, ensureSqsQueues, SqsRunner } from '../src/sqs';
import type { NamespaceConfig } from '../src/namespaces';
import { clusterA, type BenchContext } from './lib/context';
import { benchKafka, collect, deleteTopics, runId, steadyRate, waitForCount } from './lib/kafka';
import { provisionQueue, queueConfig, startQueue, writeAll, type QueueSetup } from './lib/queue';
import { repeat, ReportBuilder, type FigureSpec, type Report } from './lib/results';
import { distribution } from './lib/stats';

export interface SqsBenchOptions {
  readonly records: number;
  readonly partitions: number;
  readonly valueBytes: number;
  readonly runs: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Long-polling receivers of the SQS namespace. */
  readonly receivers: number;
}

type Backend = 'kafka' | 'sqs';

/** A generous bound (SQS takes ~1k records/s here): a stuck pipeline fails the run instead of hanging it. */
function drainTimeoutMs(records: number): number {
  return 60_000 + records * 5;
}

/** Request i's delay: spread evenly over [min, max] by a fixed permutation, the same for both backends. */
function delayOf(i: number, o: SqsBenchOptions): number {
  const span = o.maxDelayMs - o.minDelayMs + 1;
  return o.minDelayMs + ((i * 7919) % span);
}

async function startDelivery(ctx: BenchContext, kafka: Kafka, backend: Backend, setup: QueueSetup): Promise<() => Promise<void>> {
  if (backend === 'kafka') {
    const { runner, stateDir } = await startQueue(kafka, setup, { logger: ctx.logger });
    return async () => {
      await runner.stop();
      await rm(stateDir, { recursive: true, force: true });
    };
  }
  const runner = new SqsRunner({ namespace: setup.namespace, clusters: setup.config.clusters, logger: ctx.logger, depthIntervalMs: 0 });
  await runner.start();
  return () => runner.stop();
}

async function removeQueues(namespace: NamespaceConfig): Promise<void> {
  if (namespace.queue?.type !== 'sqs') return;
  const client = createSqsClient(namespace.queue);
  try {
    for (const QueueName of [namespace.queue.queueName, namespace.queue.dlqQueueName]) {
      const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName }));
      await client.send(new DeleteQueueCommand({ QueueUrl }));
    }
  } catch {
    /* cleanup only */
  } finally {
    client.destroy();
  }
}

/** One backend, one run: the drain, then the delayed records, on a fresh namespace. */
async function measure(ctx: BenchContext, kafka: Kafka, backend: Backend, o: SqsBenchOptions): Promise<Record<string, number>> {
  const name = runId(`bench-${backend}`);
  const sqs = backend === 'sqs' ? { endpoint: ctx.sqsEndpoint!, receivers: o.receivers } : undefined;
  const setup = queueConfig(clusterA(ctx), name, { partitions: o.partitions, sqs });
  const payload = 'x'.repeat(o.valueBytes);
  let stop: (() => Promise<void>) | undefined;
  try {
    await provisionQueue(kafka, setup.namespace);
    await ensureSqsQueues(setup.namespace);
    const out = await collect(kafka, setup.out, { keepValues: false });
    const writer = createWalWriter({ config: setup.config, logger: ctx.logger });
    try {
      // Drain: a backlog of due records, then the delivery loop starts.
      await writeAll(writer, o.records, (i) => ({ namespace: name, id: `a-${i}`, lifecycle: { delayMs: 0 }, payload }));
      stop = await startDelivery(ctx, kafka, backend, setup);
      const drain = steadyRate(await waitForCount(`${backend} drain`, async () => out.messages.length, o.records, drainTimeoutMs(o.records)));

      // Delayed: due 2–5 s after each request is made, written while the loop delivers.
      const due = new Float64Array(o.records);
      const started = Date.now();
      const fill = await writeAll(writer, o.records, (i) => {
        due[i] = Date.now() + delayOf(i, o);
        return { namespace: name, id: `b-${i}`, lifecycle: { deliverAt: due[i] }, payload };
      });
      const firsts = new Map<number, number>();
      let repeats = 0;
      let seen = 0;
      const count = async (): Promise<number> => {
        for (; seen < out.messages.length; seen += 1) {
          const m = out.messages[seen];
          const key = m.key?.toString() ?? '';
          if (!key.startsWith('b-')) continue;
          const i = Number(key.slice(2));
          if (firsts.has(i)) repeats += 1;
          else firsts.set(i, Number(m.timestamp));
        }
        return firsts.size;
      };
      await waitForCount(`${backend} delayed records`, count, o.records, o.maxDelayMs + drainTimeoutMs(o.records), 100);
      await new Promise((r) => setTimeout(r, 1000)); // late repeats show up
      await count();
      const lateness = new Float64Array(o.records);
      let early = 0;
      let last = 0;
      for (const [i, at] of firsts) {
        lateness[i] = at - due[i];
        if (lateness[i] < 0) early += 1;
        last = Math.max(last, at);
      }
      const d = distribution(lateness);
      return { drain, endToEnd: o.records / ((last - started) / 1000), writes: fill.written / fill.seconds, p50: d.p50, p99: d.p99, max: d.max, early, repeats };
    } finally {
      await stop?.();
      await writer.close();
      await out.stop();
    }
  } finally {
    await deleteTopics(kafka, (t) => t.startsWith(name));
    await removeQueues(setup.namespace);
  }
}

/** The SQS report (with its ratios to Kafka) and the Kafka report of the same runs. */
export async function benchSqs(ctx: BenchContext, o: SqsBenchOptions): Promise<Report[]> {
  if (!ctx.sqsEndpoint) throw new Error('the sqs bench needs an SQS endpoint (the session starts ElasticMQ when --only names sqs)');
  const delays = `${o.minDelayMs / 1000}–${o.maxDelayMs / 1000} s`;
  const specs: FigureSpec[] = [
    { key: 'drain', label: 'records/s delivered from a backlog of due records', unit: 'rec/s' },
    { key: 'endToEnd', label: `records/s write → delivered, delays ${delays}`, unit: 'rec/s' },
    { key: 'writes', label: 'WriteToLog library writes/s', unit: 'rec/s' },
    { key: 'p50', label: `fire lateness p50 (delays ${delays})`, unit: 'ms', digits: 0 },
    { key: 'p99', label: 'fire lateness p99', unit: 'ms', digits: 0 },
    { key: 'max', label: 'fire lateness max', unit: 'ms', digits: 0 },
    { key: 'early', label: 'delivered before due', unit: 'records', digits: 0 },
    { key: 'repeats', label: 'delivered more than once', unit: 'records', digits: 0 },
  ];
  const params = { records: o.records, partitions: o.partitions, valueBytes: o.valueBytes, delays, receivers: o.receivers };
  const kafkaReport = new ReportBuilder('sqs-kafka', 'Kafka delayed queue (engine + timer store), the same records in the same runs as sqs', specs, params);
  const sqsReport = new ReportBuilder(
    'sqs',
    `SQS delayed queue on ElasticMQ (${o.receivers} receivers) → Kafka target`,
    [...specs, { key: 'drainRatio', label: 'drain records/s, SQS / Kafka (same run)', unit: '×', digits: 2 }],
    params,
  );
  const kafka = benchKafka(clusterA(ctx).brokers, 'wal-bench-sqs');
  await repeat(
    sqsReport,
    o.runs,
    async (run) => {
      // Alternate which backend goes first, so neither always runs on the warmer machine.
      const order: Backend[] = run % 2 === 0 ? ['sqs', 'kafka'] : ['kafka', 'sqs'];
      const figures: Partial<Record<Backend, Record<string, number>>> = {};
      for (const backend of order) figures[backend] = await measure(ctx, kafka, backend, o);
      kafkaReport.addRun(figures.kafka!);
      ctx.log(`  sqs-kafka run ${run + 1}/${o.runs}: drain=${Math.round(figures.kafka!.drain)} p50=${Math.round(figures.kafka!.p50)} p99=${Math.round(figures.kafka!.p99)}`);
      return { ...figures.sqs!, drainRatio: figures.sqs!.drain / figures.kafka!.drain };
    },
    ctx.log,
  );
  return [sqsReport.build(), kafkaReport.build()];
}
