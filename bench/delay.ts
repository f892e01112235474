/**
 * Delayed-queue benchmarks on a real broker (numbers, not assertions):
 *  - passthrough: the baseline, raw kafkajs consume → produce of the same intake records;
 *  - delay-0: intake → delay processor → Kafka target, and its ratio to the baseline of the same run;
 *  - timers-<N>: N pending timers (puts/s, RSS), then a slice of them firing (lateness p50/p99/max).
 */
import { rm } from 'node:fs/promises';
import type { Kafka } from 'kafkajs';
import { createWalWriter } from '../src/api';
import { metricsRegistry } from '../src/observability/metrics';
import { clusterA, type BenchContext } from './lib/context';
import { benchKafka, collect, createTopics, deleteTopics, drainRate, drainTimeoutMs, runId, startRawLoop, steadyRate, waitForCount } from './lib/kafka';
import { collectGarbage, provisionQueue, queueConfig, rssMiB, startQueue, writeAll, type QueueSetup, type WriteSummary } from './lib/queue';
import { repeat, ReportBuilder, type Report } from './lib/results';
import { distribution } from './lib/stats';
import { profiled } from './lib/profile';

export interface DelayZeroOptions {
  readonly records: number;
  readonly partitions: number;
  readonly valueBytes: number;
  readonly runs: number;
  /** Write CPU and heap profiles of each run's raw loop and queue there. */
  readonly cpuProfileDir?: string;
}

/**
 * Runs (1) and (2) on the same input in each run: the intake is filled once through the WriteToLog
 * library, then read by the raw loop and by the delayed queue (alternating which goes first).
 */
export async function benchDelayZero(ctx: BenchContext, o: DelayZeroOptions): Promise<Report[]> {
  const params = { records: o.records, partitions: o.partitions, valueBytes: o.valueBytes };
  // CPU per record is this process's over the whole drain (withCpu); the broker's CPU is not in it.
  const cpuFigure = { key: 'cpu', label: 'CPU per record in this process', unit: 'µs', digits: 1 };
  const baseline = new ReportBuilder('passthrough', 'raw kafkajs consume → produce (same broker, same intake records)', [{ key: 'rate', label: 'records/s (steady)', unit: 'rec/s' }, cpuFigure], params);
  const queue = new ReportBuilder(
    'delay-0',
    'delayed queue, delay 0: intake → delay processor → Kafka target',
    [
      { key: 'rate', label: 'records/s (steady)', unit: 'rec/s' },
      { key: 'ratio', label: 'ratio to passthrough (same run)', unit: '×', digits: 2 },
      cpuFigure,
      { key: 'cpuRatio', label: 'CPU per record / passthrough\'s (same run)', unit: '×', digits: 2 },
      { key: 'writes', label: 'WriteToLog library writes/s (fill)', unit: 'rec/s' },
    ],
    params,
  );
  const kafka = benchKafka(clusterA(ctx).brokers, 'wal-bench-delay0');
  await repeat(
    queue,
    o.runs,
    async (run) => {
      const name = runId('bench-dq0');
      const setup = queueConfig(clusterA(ctx), name, { partitions: o.partitions });
      try {
        const rawOut = `${name}.raw-out`;
        const fill = await fillDelayZero(ctx, kafka, setup, o);
        await createTopics(kafka, [{ topic: rawOut, partitions: o.partitions }]);

        // Profiled from the loop's start: the group join is in the profile, a small part of a drain.
        const measureRaw = () =>
          profiled(o.cpuProfileDir, 'passthrough', () => drainRate(kafka, 'raw loop output', rawOut, o.records, () => startRawLoop(kafka, setup.namespace.topics.intake, rawOut, `${name}.raw`)));
        const measureQueue = () => profiled(o.cpuProfileDir, 'delay-0', () => measureDelayZero(ctx, kafka, setup, o.records));
        let raw: { rate: number; cpu: number };
        let queued: { rate: number; cpu: number };
        if (run % 2 === 0) {
          raw = await withCpu(o.records, measureRaw);
          queued = await withCpu(o.records, measureQueue);
        } else {
          queued = await withCpu(o.records, measureQueue);
          raw = await withCpu(o.records, measureRaw);
        }
        baseline.addRun({ rate: raw.rate, cpu: raw.cpu });
        return { rate: queued.rate, ratio: queued.rate / raw.rate, cpu: queued.cpu, cpuRatio: queued.cpu / raw.cpu, writes: fill.written / fill.seconds };
      } finally {
        await deleteTopics(kafka, (t) => t.startsWith(name));
      }
    },
    ctx.log,
  );
  return [baseline.build(), queue.build()];
}

/**
 * The delay-0 input of a run: the queue's topics, and `records` requests (delay 0) written to its
 * intake through the WriteToLog library.
 */
export async function fillDelayZero(ctx: BenchContext, kafka: Kafka, setup: QueueSetup, o: Pick<DelayZeroOptions, 'records' | 'valueBytes'>): Promise<WriteSummary> {
  await provisionQueue(kafka, setup.namespace);
  const writer = createWalWriter({ config: setup.config, logger: ctx.logger });
  const payload = 'x'.repeat(o.valueBytes);
  try {
    return await writeAll(writer, o.records, (i) => ({ namespace: setup.namespace.name, id: `r-${i}`, lifecycle: { delayMs: 0 }, payload }));
  } finally {
    await writer.close();
  }
}

/**
 * A drain's rate and this process's CPU (user + system) per record over it, in µs: unlike rates,
 * CPU hardly moves with what else runs on the machine, so it compares runs on a busy box.
 */
export async function withCpu(records: number, measure: () => Promise<number>): Promise<{ rate: number; cpu: number }> {
  const before = process.cpuUsage();
  const rate = await measure();
  const used = process.cpuUsage(before);
  return { rate, cpu: (used.user + used.system) / records };
}

/** Runs the delayed queue in this process over a filled intake until `records` are on its Kafka target; the steady rate. */
export function measureDelayZero(ctx: BenchContext, kafka: Kafka, setup: QueueSetup, records: number): Promise<number> {
  return drainRate(kafka, 'delayed queue output', setup.out, records, async () => {
    const { runner, stateDir } = await startQueue(kafka, setup, { logger: ctx.logger });
    return {
      stop: async () => {
        await runner.stop();
        await rm(stateDir, { recursive: true, force: true });
      },
    };
  });
}

export interface TimersOptions {
  /** Timers pending at once (the far ones plus the slice that fires). */
  readonly pending: number;
  /** How many of them are made due (spread over `fireWindowMs`) once all are pending. */
  readonly firing: number;
  readonly fireWindowMs: number;
  readonly partitions: number;
  readonly valueBytes: number;
  readonly runs: number;
  /** Write a CPU profile of each run's puts phase (intake → timer store) there. */
  readonly cpuProfileDir?: string;
}

async function pendingTimers(namespace: string): Promise<number> {
  const metric = metricsRegistry.getSingleMetric('wal_delay_pending_timers');
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => v.labels.namespace === namespace).reduce((n, v) => n + v.value, 0);
}

/**
 * N timers pending, then `firing` of them come due while the rest stay pending. An injected clock
 * (real time + a skew the bench sets) makes "an hour later" arrive at once, so the run does not
 * depend on guessing how long the puts take. RSS is this process's (the queue runs in-process),
 * read after a forced GC: before the puts, with all timers pending, and after the slice fired.
 */
export async function benchTimers(ctx: BenchContext, o: TimersOptions): Promise<Report> {
  const builder = new ReportBuilder(
    `timers-${o.pending >= 1e6 ? `${o.pending / 1e6}M` : `${Math.round(o.pending / 1e3)}k`}`,
    `delayed queue with ${o.pending.toLocaleString('en-US')} pending timers; ${o.firing.toLocaleString('en-US')} of them fire over ${o.fireWindowMs / 1000} s`,
    [
      { key: 'puts', label: 'timer puts/s (intake → timer store, steady)', unit: 'rec/s' },
      { key: 'writes', label: 'WriteToLog library writes/s (fill)', unit: 'rec/s' },
      { key: 'p50', label: 'fire lateness p50', unit: 'ms' },
      { key: 'p99', label: 'fire lateness p99', unit: 'ms' },
      { key: 'max', label: 'fire lateness max', unit: 'ms' },
      { key: 'early', label: 'fired before due', unit: 'records', digits: 0 },
      { key: 'rssStart', label: 'RSS before the puts', unit: 'MiB' },
      { key: 'rssPending', label: 'RSS with all timers pending', unit: 'MiB' },
      // Where RSS is: V8's heap, buffers outside it, and the rest (LevelDB's caches and memtables, code).
      { key: 'heapPending', label: 'of which V8 heap (total) with all pending', unit: 'MiB' },
      { key: 'externalPending', label: 'of which buffers outside the V8 heap with all pending', unit: 'MiB' },
      { key: 'rssEnd', label: 'RSS at the end', unit: 'MiB' },
    ],
    { pending: o.pending, firing: o.firing, fireWindowMs: o.fireWindowMs, partitions: o.partitions, valueBytes: o.valueBytes },
  );
  const kafka = benchKafka(clusterA(ctx).brokers, 'wal-bench-timers');
  const payload = 'x'.repeat(o.valueBytes);
  const step = Math.max(1, Math.floor(o.pending / o.firing));
  return repeat(
    builder,
    o.runs,
    async () => {
      const name = runId('bench-timers');
      const setup = queueConfig(clusterA(ctx), name, { partitions: o.partitions });
      const base = Date.now();
      const nearStart = base + 3_600_000;
      const far = base + 2 * 86_400_000;
      // Every step-th request is "near" (fires in the window); the rest wait two days.
      const dueOf = (i: number): number => {
        const k = i / step;
        return i % step === 0 && k < o.firing ? nearStart + Math.floor((k / o.firing) * o.fireWindowMs) : far + (i % 60_000);
      };
      const firing = Math.min(o.firing, Math.ceil(o.pending / step));
      try {
        await provisionQueue(kafka, setup.namespace);
        const writer = createWalWriter({ config: setup.config, logger: ctx.logger });
        const fill = await writeAll(writer, o.pending, (i) => ({ namespace: name, id: `t-${i}`, lifecycle: { deliverAt: dueOf(i) }, payload }), {
          progress: ctx.log,
          deadlineMs: drainTimeoutMs(o.pending),
        });
        await writer.close();
        collectGarbage();
        const rssStart = rssMiB();

        let skew = 0;
        const clock = { now: () => Date.now() + skew };
        const { runner, stateDir } = await startQueue(kafka, setup, { logger: ctx.logger, clock });
        try {
          const puts = await profiled(o.cpuProfileDir, 'timer-puts', () => waitForCount('pending timers', () => pendingTimers(name), o.pending, drainTimeoutMs(o.pending), 250, ctx.log));
          collectGarbage();
          const rssPending = rssMiB();
          const { heapTotal, external } = process.memoryUsage();

          const out = await collect(kafka, setup.out, { keepValues: false });
          // From here the queue's clock reads one second before the first near timer is due.
          skew = nearStart - 1000 - Date.now();
          const skewUsed = skew;
          try {
            await out.waitFor(firing, o.fireWindowMs + drainTimeoutMs(firing));
            await new Promise((r) => setTimeout(r, 1000)); // anything early/extra shows up
          } finally {
            await out.stop();
          }
          const lateness = new Float64Array(out.messages.length);
          let early = 0;
          out.messages.forEach((m, j) => {
            const i = Number(m.key!.toString().slice(2));
            const dueReal = dueOf(i) - skewUsed;
            lateness[j] = Number(m.timestamp) - dueReal;
            if (lateness[j] < 0) early += 1;
          });
          const d = distribution(lateness);
          collectGarbage();
          return {
            puts: steadyRate(puts),
            writes: fill.written / fill.seconds,
            p50: d.p50,
            p99: d.p99,
            max: d.max,
            early,
            rssStart,
            rssPending,
            heapPending: heapTotal / 2 ** 20,
            externalPending: external / 2 ** 20,
            rssEnd: rssMiB(),
          };
        } finally {
          await runner.stop();
          await rm(stateDir, { recursive: true, force: true });
        }
      } finally {
        await deleteTopics(kafka, (t) => t.startsWith(name));
      }
    },
    ctx.log,
  );
}
