import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../src/observability/logger';
import { resolveClusters, type BenchClusters } from './cluster';
import { fileLogger } from './context';
import { resolveElasticMq, type BenchSqs } from './elasticmq';
import { BenchUsageError, type FlagValues } from './flags';
import { linkPackageRoot, REPO_ROOT } from './layout';
import { describeEnvironment, resultFile, writeResults, type Environment, type Report } from './results';

/** What `npm run bench` and `npm run drill` share: clusters, environment record, results files, logs. */
export interface Session {
  readonly cluster: BenchClusters;
  /** ElasticMQ, when the run asked for it (the SQS benches). */
  readonly sqs?: BenchSqs;
  readonly environment: Environment;
  /** Console progress lines. */
  log(line: string): void;
  /** For wal components run in-process: to the `.log` file beside the results. */
  readonly logger: Logger;
  readonly logFile: string;
  /** Writes the results JSON; answers its path relative to the working directory. */
  save(reports: Report[]): string;
}

/** Finds (or starts) the clusters (and ElasticMQ with `sqs`), records the machine and prints the run's first line. */
export async function openSession(kind: Environment['kind'], flags: FlagValues, clusterNames: string[], quick: boolean, options: { sqs?: boolean } = {}): Promise<Session> {
  linkPackageRoot();
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const clusterDir = flags['cluster-dir'] as string | undefined;
  const privateDir = path.join(REPO_ROOT, '.wal', 'bench');
  const cluster = await resolveClusters({ names: clusterNames, clusterDir, privateDir, log });
  let sqs: BenchSqs | undefined;
  try {
    sqs = options.sqs ? await resolveElasticMq({ clusterDir, privateDir, log }) : undefined;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const environment = describeEnvironment(kind, cluster.clusters, cluster.origin, sqs);
  const outDir = path.resolve(String(flags.out ?? path.join(REPO_ROOT, 'bench', 'results')));
  const logFile = resultFile(outDir, environment, 'log');
  log(
    `wal ${kind} (${quick ? 'quick' : 'full'}): ${os.cpus().length} × ${environment.machine.cpuModel}, Node ${process.version}, ` +
      `Kafka ${cluster.clusters.map((c) => `${c.name} ${c.kafkaVersion} at ${c.brokers.join(',')}`).join('; ')} (${cluster.origin}), ` +
      `${sqs ? `SQS at ${sqs.endpoint} (${sqs.origin}), ` : ''}load ${environment.machine.loadAverageAtStart.join(' ')}`,
  );
  return {
    cluster,
    sqs,
    environment,
    log,
    logger: fileLogger(logFile, { [kind]: true }),
    logFile,
    save: (reports) => path.relative(process.cwd(), writeResults(outDir, environment, reports)),
  };
}

/** Runs a bench entry point: its answer is the exit code; a usage error exits 2, anything else 1. */
export function runMain(kind: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(error instanceof BenchUsageError ? `${error.message}\n` : `${kind} failed: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exit(error instanceof BenchUsageError ? 2 : 1);
    },
  );
}
