/**
 * `npm run drill`: fault drills against the local cluster (or KAFKA_BROKERS); the broker restart
 * drill starts its own private JVM cluster. Each drill has an overall deadline and cleans up after
 * itself whatever happens. Prints a checks table and a figures table, writes
 * bench/results/drill-<time>.json. Exit code 1 when a check failed. Not part of `npm test`.
 */
import path from 'node:path';
import { durationFlag, intFlag, parseFlags, selection } from '../lib/flags';
import { ReportBuilder, type FigureSpec, type Report } from '../lib/results';
import { openSession, runMain } from '../lib/session';
import { checksTable, figuresTable } from '../lib/table';
import { BAD_INPUT_FIGURES, drillBadInput } from './bad-input';
import { BROKER_FIGURES, drillBrokerRestart } from './broker-restart';
import { VERDICT_FIGURES, type DrillContext } from './common';
import { drillKill9, KILL9_FIGURES } from './kill9';
import { drillRebalance, REBALANCE_FIGURES } from './rebalance';

const DRILLS = ['kill9', 'kill9-eos', 'broker', 'rebalance', 'bad-input'];

const USAGE = `npm run drill -- [flags]
  --quick              small sizes (a few minutes in all); default is the full run
  --only <names>       comma-separated subset of: ${DRILLS.join(', ')}
  --runs <n>           runs per drill (default 1)
  --records <n>        numbered records per delivery drill (quick 3000, full 20000)
  --rate <n>           records/s the drill producer writes (quick 200, full 250)
  --max-delay <dur>    longest delay in the mix (quick 5s, full 20s); 40% are due at once
  --deadline <dur>     overall bound per drill (quick 5m, full 15m)
  --cluster-dir <dir>  use the running \`wal dev up --dir <dir>\` clusters
  --out <dir>          results directory (default bench/results)`;

async function main(): Promise<number> {
  const flags = parseFlags(
    process.argv.slice(2),
    {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      runs: { type: 'string' },
      records: { type: 'string' },
      rate: { type: 'string' },
      'max-delay': { type: 'string' },
      deadline: { type: 'string' },
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
  const only = selection(flags, DRILLS);
  const runs = intFlag(flags, 'runs', 1);
  const records = intFlag(flags, 'records', quick ? 3_000 : 20_000);
  const ratePerSec = intFlag(flags, 'rate', quick ? 200 : 250);
  const maxDelayMs = durationFlag(flags, 'max-delay', quick ? 5_000 : 20_000);
  const deadlineMs = durationFlag(flags, 'deadline', quick ? 300_000 : 900_000);
  const mix = { zeroShare: 0.4, maxDelayMs };
  const session = await openSession('drill', flags, ['A'], quick);
  const { cluster, log, logger } = session;

  const reports: Report[] = [];
  const drill = async (
    name: string,
    title: string,
    figures: FigureSpec[],
    params: Record<string, unknown>,
    body: (ctx: DrillContext, builder: ReportBuilder) => Promise<Record<string, number>>,
  ): Promise<void> => {
    if (!only.has(name)) return;
    log(`\n== ${name}: ${title}`);
    const builder = new ReportBuilder(name, title, figures, { ...params, deadlineMs });
    for (let run = 0; run < runs; run += 1) {
      const cleanups: Array<() => Promise<void> | void> = [];
      const ctx: DrillContext = { clusters: cluster.clusters, log, logger, deadline: Date.now() + deadlineMs, onCleanup: (fn) => cleanups.push(fn) };
      let timer: NodeJS.Timeout | undefined;
      try {
        const running = body(ctx, builder);
        running.catch(() => undefined); // a drill past its deadline may still fail later: already reported
        const result = await Promise.race([
          running,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`drill ${name} did not finish within its ${deadlineMs / 1000} s deadline`)), deadlineMs + 30_000);
          }),
        ]);
        builder.addRun(result);
        log(`  run ${run + 1}/${runs}: ${Object.entries(result).map(([k, v]) => `${k}=${Number.isFinite(v) ? Math.round(v) : '–'}`).join(' ')}`);
      } catch (error) {
        builder.fail(error);
        log(`  run ${run + 1}/${runs} failed: ${(error as Error)?.stack ?? String(error)}`);
      } finally {
        clearTimeout(timer);
        for (const fn of cleanups.reverse()) {
          await Promise.race([Promise.resolve().then(fn), new Promise((r) => setTimeout(r, 30_000))]).catch((error: unknown) => log(`  cleanup: ${String(error)}`));
        }
      }
    }
    reports.push(builder.build());
  };

  try {
    await drill('kill9', 'kill -9 loop: instances killed and restarted at random while numbered records are written', [...VERDICT_FIGURES, ...KILL9_FIGURES], { records, ratePerSec, mix, instances: 2 }, (ctx, b) =>
      drillKill9(ctx, b, { records, ratePerSec, instances: 2, mix, killGapMs: quick ? [2_000, 5_000] : [3_000, 10_000], downMs: [500, 3_000] }),
    );
    await drill('kill9-eos', 'the same kill -9 loop with processingGuarantee exactly-once: the target read read_committed', [...VERDICT_FIGURES, ...KILL9_FIGURES], { records, ratePerSec, mix, instances: 2 }, (ctx, b) =>
      drillKill9(ctx, b, { records, ratePerSec, instances: 2, mix, killGapMs: quick ? [2_000, 5_000] : [3_000, 10_000], downMs: [500, 3_000], guarantee: 'exactly-once' }),
    );
    await drill('broker', 'broker kill -9 and restart during load (private JVM cluster)', [...VERDICT_FIGURES, ...BROKER_FIGURES], { records: Math.round(records / 2), ratePerSec: Math.round(ratePerSec / 2), mix }, (ctx, b) =>
      drillBrokerRestart(ctx, b, { records: Math.round(records / 2), ratePerSec: Math.round(ratePerSec / 2), mix, downMs: quick ? 5_000 : 15_000 }),
    );
    await drill('rebalance', 'rebalance storm: three instances joining and leaving', [...VERDICT_FIGURES, ...REBALANCE_FIGURES], { records, ratePerSec, mix, instances: 3 }, (ctx, b) =>
      drillRebalance(ctx, b, { records, ratePerSec, instances: 3, mix, changeGapMs: quick ? [1_500, 4_000] : [2_000, 8_000] }),
    );
    await drill('bad-input', 'bad input barrage interleaved with good records', BAD_INPUT_FIGURES, { good: records, badPer50: 10 }, (ctx, b) => drillBadInput(ctx, b, { good: records, badPer50: 10 }));
  } finally {
    await cluster.stop();
  }

  const file = session.save(reports);
  log(`\n${checksTable(reports)}\n\n${figuresTable(reports)}\n`);
  for (const r of reports) for (const note of r.notes) log(`${r.name}: ${note}`);
  log(`results: ${file} (warnings and errors of in-process components: ${path.relative(process.cwd(), session.logFile)})`);
  return reports.some((r) => r.error || r.checks.some((c) => !c.ok)) ? 1 : 0;
}

runMain('drill', main);
