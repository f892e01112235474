/**
 * `npm run bench`: every wal benchmark against the local cluster (or KAFKA_BROKERS), a Markdown
 * table on stdout and bench/results/bench-<time>.json (machine, Node, Kafka versions, git commit).
 * Each figure is the median of several runs, with min and max. Not part of `npm test`.
 */
import path from 'node:path';
import { benchDelayZero, benchTimers } from './delay';
import { benchHttp } from './http';
import { benchKStreams } from './kstreams';
import { benchScale } from './scale';
import { benchSqs } from './sqs';
import type { BenchContext } from './lib/context';
import { benchExternal } from './lib/external';
import { durationFlag, durationListFlag, intFlag, intListFlag, parseFlags, selection } from './lib/flags';
import { compiled, REPO_ROOT } from './lib/layout';
import type { Report } from './lib/results';
import { openSession, runMain } from './lib/session';
import { figuresTable } from './lib/table';

const BENCHES = ['runtime', 'restore', 'delay', 'kstreams', 'timers', 'http', 'fanout', 'cassandra', 'mirror', 'scale', 'sqs'];

const USAGE = `npm run bench -- [flags]
  --quick                  small sizes and 2 runs (~1 min on 2 cores); default is the full run (~7 min there, 4 of them 1M timers)
  --only <names>           comma-separated subset of: ${BENCHES.join(', ')}
  --runs <n>               runs per figure (default 3, quick 2; median, min, max are reported)
  --records <n>            records for runtime, restore, passthrough / delay-0, kstreams (quick 10k, full 100k); mirror uses half
  --mutations <n>          mutations for the fan-out and cassandra benches (quick 10k, full 50k)
  --timers <n,...>         pending-timer sizes (quick 10k, full 100k,1M); 1M+ sizes run once
  --firing <n>             timers made due per timers run (quick 1k, full 10k)
  --fire-window <dur>      spread of the due times of those (quick 2s, full 10s)
  --sqs-records <n>        records per phase of the sqs bench, the same for both backends (quick 5k, full 20k)
  --sqs-delays <dur,dur>   the sqs bench's delay range (default 2s,5s)
  --sqs-receivers <n>      long-polling receivers of the SQS namespace (default 4)
  --partitions <n>         intake partitions (default 4; scale uses 6)
  --ks-threads <n>         kstreams: the Kafka Streams app's num.stream.threads (default 2)
  --ks-commit-interval <dur>  its commit.interval.ms (default 1s, wal's in this bench; Kafka Streams' own default is 30s)
  --ks-cache <bytes>       its statestore.cache.max.bytes (default 10485760, Kafka Streams' default; 0 turns the cache off)
  --instances <n,...>      wal start processes per scale step (default 1,2,3)
  --value-bytes <n>        payload size (default 100)
  --http-concurrency <n>   concurrent HTTP clients (default 32)
  --http-duration <dur>    measured time per HTTP run (quick 3s, full 15s)
  --http-cpu-prof <dir>    write a V8 CPU profile of \`wal api\` there (node --cpu-prof)
  --cpu-prof <dir>         write V8 CPU profiles there: delay's raw loop and queue phases, timers' puts
  --cluster-dir <dir>      use the running \`wal dev up --dir <dir>\` clusters
  --out <dir>              results directory (default bench/results)
Clusters: --cluster-dir, else KAFKA_BROKERS/SCHEMA_REGISTRY_URL (+ _B), else a running .wal/dev, else a private JVM cluster.
ElasticMQ (sqs): --cluster-dir's, else WAL_SQS_ENDPOINT, else a private one.`;

async function main(): Promise<number> {
  const flags = parseFlags(
    process.argv.slice(2),
    {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      runs: { type: 'string' },
      records: { type: 'string' },
      mutations: { type: 'string' },
      timers: { type: 'string' },
      firing: { type: 'string' },
      'fire-window': { type: 'string' },
      'sqs-records': { type: 'string' },
      'sqs-delays': { type: 'string' },
      'sqs-receivers': { type: 'string' },
      partitions: { type: 'string' },
      'ks-threads': { type: 'string' },
      'ks-commit-interval': { type: 'string' },
      'ks-cache': { type: 'string' },
      instances: { type: 'string' },
      'value-bytes': { type: 'string' },
      'http-concurrency': { type: 'string' },
      'http-duration': { type: 'string' },
      'http-cpu-prof': { type: 'string' },
      'cpu-prof': { type: 'string' },
      'cluster-dir': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
    USAGE,
  );
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const quick = flags.quick === true;
  const only = selection(flags, BENCHES);
  const runs = intFlag(flags, 'runs', quick ? 2 : 3);
  const records = intFlag(flags, 'records', quick ? 10_000 : 100_000);
  const mutations = intFlag(flags, 'mutations', quick ? 10_000 : 50_000);
  const timerSizes = intListFlag(flags, 'timers', quick ? [10_000] : [100_000, 1_000_000]);
  const firing = intFlag(flags, 'firing', quick ? 1_000 : 10_000);
  const fireWindowMs = durationFlag(flags, 'fire-window', quick ? 2_000 : 10_000);
  const partitions = intFlag(flags, 'partitions', 4);
  const valueBytes = intFlag(flags, 'value-bytes', 100);

  const streamsSettings = {
    threads: intFlag(flags, 'ks-threads', 2),
    commitIntervalMs: durationFlag(flags, 'ks-commit-interval', 1_000),
    cacheMaxBytes: flags['ks-cache'] === '0' ? 0 : intFlag(flags, 'ks-cache', 10 * 2 ** 20),
  };

  const sqsRecords = intFlag(flags, 'sqs-records', quick ? 5_000 : 20_000);
  const [minDelayMs, maxDelayMs] = durationListFlag(flags, 'sqs-delays', [2_000, 5_000]);
  const sqsReceivers = intFlag(flags, 'sqs-receivers', 4);

  const session = await openSession('bench', flags, only.has('mirror') ? ['A', 'B'] : ['A'], quick, { sqs: only.has('sqs') });
  const { cluster, log } = session;
  const ctx: BenchContext = { clusters: cluster.clusters, log, logger: session.logger, sqsEndpoint: session.sqs?.endpoint };

  const reports: Report[] = [];
  const section = async (name: string, body: () => Promise<Report | Report[] | undefined>): Promise<void> => {
    if (!only.has(name)) return;
    log(`\n== ${name}`);
    const started = Date.now();
    try {
      const result = await body();
      if (result) reports.push(...(Array.isArray(result) ? result : [result]));
    } catch (error) {
      log(`  ${name} failed: ${(error as Error)?.stack ?? String(error)}`);
      reports.push({ name, title: name, params: {}, runs: 0, figures: [], checks: [], notes: [], error: String((error as Error)?.message ?? error), durationMs: Date.now() - started });
    }
    log(`  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  };

  try {
    await section('runtime', () =>
      benchExternal(ctx, {
        name: 'runtime',
        title: 'engine passthrough vs raw kafkajs (bench/runtime.ts)',
        script: compiled('bench/runtime.js'),
        env: { PASS_RECORDS: String(quick ? Math.max(records, 30_000) : records), VALUE_BYTES: String(valueBytes), PARTITIONS: String(partitions) },
        runs,
        timeoutMs: quick ? 300_000 : 1_200_000,
        ratios: [
          { key: 'ratio-alo', label: 'engine at-least-once / raw (same run)', of: /engine passthrough \(at-least-once\)/, to: /^raw kafkajs/ },
          { key: 'ratio-eos', label: 'engine exactly-once / raw (same run)', of: /engine passthrough \(exactly-once\)/, to: /^raw kafkajs/ },
        ],
      }),
    );
    await section('restore', () =>
      benchExternal(ctx, {
        name: 'restore',
        title: 'changelog restore into LevelDB vs its read and write ceilings; several partitions one by one and at once (bench/restore.ts)',
        script: compiled('bench/restore.js'),
        env: { RESTORE_RECORDS: String(records), VALUE_BYTES: String(valueBytes), PARTITIONS: String(partitions) },
        runs,
        timeoutMs: quick ? 300_000 : 1_200_000,
        ratios: [
          { key: 'ratio-read', label: 'restore, warm / read ceiling (same run)', of: /^restore again, warm/, to: /^read ceiling/ },
          { key: 'ratio-write', label: 'restore, warm / write ceiling (same run)', of: /^restore again, warm/, to: /^write ceiling/ },
          { key: 'ratio-at-once', label: 'partitions at once / one by one (same run)', of: /partitions at once/, to: /partitions one by one/ },
        ],
      }),
    );
    const cpuProfile = typeof flags['cpu-prof'] === 'string' ? { cpuProfileDir: path.resolve(flags['cpu-prof']) } : {};
    await section('delay', () => benchDelayZero(ctx, { records, partitions, valueBytes, runs, ...cpuProfile }));
    await section('kstreams', () =>
      benchKStreams(ctx, {
        // A JVM's start and group join take seconds: too few records leave no steady state to measure.
        records: quick ? Math.max(records, 30_000) : records,
        partitions,
        valueBytes,
        runs,
        ...streamsSettings,
      }),
    );
    await section('timers', async () => {
      const out: Report[] = [];
      for (const pending of timerSizes) {
        out.push(await benchTimers(ctx, { pending, firing: Math.min(firing, pending), fireWindowMs, partitions, valueBytes, runs: pending >= 1_000_000 ? 1 : runs, ...cpuProfile }));
      }
      return out;
    });
    await section('http', () =>
      benchHttp(ctx, {
        concurrency: intFlag(flags, 'http-concurrency', 32),
        durationMs: durationFlag(flags, 'http-duration', quick ? 3_000 : 15_000),
        warmupMs: quick ? 1_000 : 3_000,
        valueBytes,
        runs,
        cli: path.join(REPO_ROOT, 'dist', 'cli', 'main.js'),
        ...(typeof flags['http-cpu-prof'] === 'string' ? { cpuProfileDir: path.resolve(flags['http-cpu-prof']) } : {}),
      }),
    );
    await section('fanout', () => benchFanout(ctx, quick, runs, mutations));
    await section('cassandra', () => benchCassandra(ctx, quick, runs, mutations));
    await section('mirror', () => benchMirror(ctx, quick, runs, records));
    await section('scale', () =>
      benchScale(ctx, { records: quick ? Math.max(records, 30_000) : 2 * records, partitions: intFlag(flags, 'partitions', 6), instances: intListFlag(flags, 'instances', [1, 2, 3]), valueBytes, runs }),
    );
    await section('sqs', () => benchSqs(ctx, { records: sqsRecords, partitions, valueBytes, runs, minDelayMs, maxDelayMs, receivers: sqsReceivers }));
  } finally {
    await session.sqs?.stop();
    await cluster.stop();
  }

  const file = session.save(reports);
  log(`\n${figuresTable(reports)}\n`);
  log(`results: ${file} (warnings and errors of in-process components: ${path.relative(process.cwd(), session.logFile)})`);
  return reports.some((r) => r.error) ? 1 : 0;
}

function benchFanout(ctx: BenchContext, quick: boolean, runs: number, mutations: number): Promise<Report | undefined> {
  return benchExternal(ctx, {
    name: 'fanout',
    title: 'fan-out: mutations into per-target topics applied to PostgreSQL, vs a plain batched upsert loop (bench/fanout.ts)',
    script: compiled('bench/fanout.js'),
    env: { MUTATIONS: String(mutations) },
    runs,
    timeoutMs: quick ? 300_000 : 1_200_000,
    ratios: [{ key: 'ratio', label: 'wal / plain upsert loop (same run)', of: /^through wal/, to: /^plain batched upsert/ }],
  });
}

function benchCassandra(ctx: BenchContext, quick: boolean, runs: number, mutations: number): Promise<Report | undefined> {
  return benchExternal(ctx, {
    name: 'cassandra',
    title: 'fan-out into Cassandra (USING TIMESTAMP <sequence>), vs plain driver loops: unlogged batches, concurrent statements (bench/fanout-cassandra.ts)',
    script: compiled('bench/fanout-cassandra.js'),
    env: { MUTATIONS: String(mutations) },
    runs,
    timeoutMs: quick ? 300_000 : 1_200_000,
    ratios: [
      { key: 'ratio', label: 'wal / plain unlogged-batch loop (same run)', of: /^through wal/, to: /^plain driver loop, unlogged/ },
      { key: 'ratio-concurrent', label: 'plain concurrent statements / plain unlogged batches (same run)', of: /^plain driver loop, \d+ concurrent/, to: /^plain driver loop, unlogged/ },
    ],
  });
}

function benchMirror(ctx: BenchContext, quick: boolean, runs: number, records: number): Promise<Report | undefined> {
  return benchExternal(ctx, {
    name: 'mirror',
    title: 'mirror A → B vs raw kafkajs consume(A) → produce(B) and MirrorMaker 2 (bench/mirror.ts)',
    script: compiled('bench/mirror.js'),
    env: { RECORDS: String(Math.max(1000, Math.round(records / 2))) },
    runs,
    timeoutMs: quick ? 300_000 : 1_200_000,
    ratios: [
      { key: 'ratio-alo', label: 'mirror at-least-once / raw (same run)', of: /MirrorRunner at-least-once/, to: /^raw kafkajs/ },
      { key: 'ratio-eos', label: 'mirror exactly-once / raw (same run)', of: /MirrorRunner exactly-once/, to: /^raw kafkajs/ },
      { key: 'ratio-mm2', label: 'mirror at-least-once / MirrorMaker 2 (same run)', of: /MirrorRunner at-least-once/, to: /^MirrorMaker 2/ },
      { key: 'ratio-eos-alo', label: 'mirror exactly-once / at-least-once (same run)', of: /MirrorRunner exactly-once/, to: /MirrorRunner at-least-once/ },
    ],
  });
}

runMain('bench', main);
