/**
 * wal against the peer a Kafka user weighs it with: a hand-written Kafka Streams app on the JVM
 * (bench/kstreams/WalBenchStreams.java), on the same broker and the same intake records, same run:
 *  - Kafka Streams passthrough (source → sink) and wal's engine passthrough (at-least-once);
 *  - Kafka Streams' delay topology (a RocksDB store keyed by due time + id, delay 0, a 100 ms
 *    wall-clock punctuator) and wal's delayed queue with delay 0 (bench/delay.ts).
 * The intake is filled once per run through the WriteToLog library; the four loops take turns going
 * first. CPU per record: wal's is this process's over its drain, the app's its JVM's from RUNNING
 * (start-up and group join left out) to its last record out.
 */
import type { Kafka } from 'kafkajs';
import { fillDelayZero, measureDelayZero, withCpu, type DelayZeroOptions } from './delay';
import { clusterA, type BenchContext } from './lib/context';
import { benchKafka, createTopics, deleteTopics, drainRate, runId } from './lib/kafka';
import { compileStreamsApp, KAFKA_STREAMS_VERSION, KSTREAMS_HEAP, startStreamsApp, stopStreamsApp, type CompiledApp, type StreamsAppOptions, type StreamsSettings } from './lib/kstreams';
import { startEnginePassthrough } from './lib/passthrough';
import { queueConfig } from './lib/queue';
import { repeat, ReportBuilder, type Report } from './lib/results';

export interface KStreamsOptions extends DelayZeroOptions, StreamsSettings {}

/** wal's side runs with these, as the delay bench does (bench/lib/queue.ts). */
const WAL_COMMIT_INTERVAL_MS = 1000;

interface Drained {
  readonly rate: number;
  /** CPU per record, µs. */
  readonly cpu: number;
}

/** The app over the intake until `records` are on its output; its JVM's CPU per record from RUNNING. */
async function measureStreams(kafka: Kafka, app: CompiledApp, options: StreamsAppOptions, records: number): Promise<Drained> {
  let cpu = NaN;
  const rate = await drainRate(kafka, `Kafka Streams ${options.mode} output`, options.output, records, () => {
    const running = startStreamsApp(app, options);
    return Promise.resolve({
      check: () => {
        if (running.process.hasExited()) throw new Error(`the Kafka Streams app exited:\n${running.log()}`);
      },
      stop: async () => {
        const atRunning = running.cpuAtRunningSeconds();
        if (atRunning !== undefined && !running.process.hasExited()) cpu = ((running.cpuSeconds() - atRunning) * 1e6) / records;
        await stopStreamsApp(running);
      },
    });
  });
  return { rate, cpu };
}

export async function benchKStreams(ctx: BenchContext, o: KStreamsOptions): Promise<Report> {
  const settings = { threads: o.threads, commitIntervalMs: o.commitIntervalMs, cacheMaxBytes: o.cacheMaxBytes };
  const builder = new ReportBuilder(
    'kstreams',
    `wal vs a Kafka Streams ${KAFKA_STREAMS_VERSION} app of the same shape (${o.threads} stream threads, at-least-once), same broker and intake records`,
    [
      { key: 'ksPass', label: 'Kafka Streams passthrough records/s', unit: 'rec/s' },
      { key: 'walPass', label: 'wal engine passthrough (at-least-once) records/s', unit: 'rec/s' },
      { key: 'ratioPass', label: 'wal passthrough / Kafka Streams passthrough (same run)', unit: '×', digits: 2 },
      { key: 'ksDelay', label: 'Kafka Streams delay topology (RocksDB, delay 0) records/s', unit: 'rec/s' },
      { key: 'walDelay', label: 'wal delay-0 records/s', unit: 'rec/s' },
      { key: 'ratioDelay', label: 'wal delay-0 / Kafka Streams delay (same run)', unit: '×', digits: 2 },
      { key: 'ksPassCpu', label: 'Kafka Streams passthrough: JVM CPU per record', unit: 'µs', digits: 1 },
      { key: 'walPassCpu', label: 'wal passthrough: CPU per record in this process', unit: 'µs', digits: 1 },
      { key: 'ksDelayCpu', label: 'Kafka Streams delay: JVM CPU per record', unit: 'µs', digits: 1 },
      { key: 'walDelayCpu', label: 'wal delay-0: CPU per record in this process', unit: 'µs', digits: 1 },
      { key: 'writes', label: 'WriteToLog library writes/s (fill)', unit: 'rec/s' },
    ],
    {
      records: o.records,
      partitions: o.partitions,
      valueBytes: o.valueBytes,
      settings: {
        kafkaStreams: { version: KAFKA_STREAMS_VERSION, ...settings, processingGuarantee: 'at_least_once', punctuationIntervalMs: 100, store: 'RocksDB, changelogged', heap: KSTREAMS_HEAP, clients: 'Kafka Streams defaults' },
        wal: { commitIntervalMs: WAL_COMMIT_INTERVAL_MS, punctuationIntervalMs: 100 },
      },
    },
  );
  if (o.records < 500_000) {
    // Measured here: a fresh JVM's CPU per record fell from ~34 to ~5 µs over its first ~400k passthrough records (JIT).
    builder.note(`${o.records} records: each Kafka Streams run is a fresh JVM, still compiling for most of them, while wal's code is warm after the first run; --records 1M measures its steady state`);
  }
  const kafka = benchKafka(clusterA(ctx).brokers, 'wal-bench-kstreams');
  const brokers = clusterA(ctx).brokers;
  const app = await compileStreamsApp(ctx.log);
  try {
    return await repeat(
      builder,
      o.runs,
      async (run) => {
        const name = runId('bench-ks');
        const setup = queueConfig(clusterA(ctx), name, { partitions: o.partitions, commitInterval: `${WAL_COMMIT_INTERVAL_MS}ms` });
        const input = setup.namespace.topics.intake;
        const out = { ksPass: `${name}.ks-pass-out`, ksDelay: `${name}.ks-delay-out`, walPass: `${name}.engine-out` };
        try {
          const fill = await fillDelayZero(ctx, kafka, setup, o);
          await createTopics(kafka, Object.values(out).map((topic) => ({ topic, partitions: o.partitions })));
          const streams = (mode: 'passthrough' | 'delay', output: string) => () =>
            measureStreams(kafka, app, { ...settings, mode, brokers, input, output, applicationId: `${name}-ks-${mode}` }, o.records);
          const loops: Array<[keyof typeof out | 'walDelay', () => Promise<Drained>]> = [
            ['ksPass', streams('passthrough', out.ksPass)],
            ['ksDelay', streams('delay', out.ksDelay)],
            [
              'walPass',
              () =>
                withCpu(o.records, () =>
                  drainRate(kafka, 'engine passthrough output', out.walPass, o.records, () =>
                    startEnginePassthrough(kafka, { name: `${name}-engine`, input, output: out.walPass, partitions: o.partitions, guarantee: 'at-least-once', commitIntervalMs: WAL_COMMIT_INTERVAL_MS, logger: ctx.logger }),
                  ),
                ),
            ],
            ['walDelay', () => withCpu(o.records, () => measureDelayZero(ctx, kafka, setup, o.records))],
          ];
          const result = new Map<string, Drained>();
          // Each run starts with another loop, so none is always first on a cold broker cache.
          for (let i = 0; i < loops.length; i += 1) {
            const [key, measure] = loops[(i + run) % loops.length];
            result.set(key, await measure());
          }
          const get = (key: string): Drained => result.get(key)!;
          return {
            ksPass: get('ksPass').rate,
            walPass: get('walPass').rate,
            ratioPass: get('walPass').rate / get('ksPass').rate,
            ksDelay: get('ksDelay').rate,
            walDelay: get('walDelay').rate,
            ratioDelay: get('walDelay').rate / get('ksDelay').rate,
            ksPassCpu: get('ksPass').cpu,
            walPassCpu: get('walPass').cpu,
            ksDelayCpu: get('ksDelay').cpu,
            walDelayCpu: get('walDelay').cpu,
            writes: fill.written / fill.seconds,
          };
        } finally {
          await deleteTopics(kafka, (t) => t.startsWith(name));
        }
      },
      ctx.log,
    );
  } finally {
    app.remove();
  }
}
