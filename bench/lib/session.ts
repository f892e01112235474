import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../src/observability/logger';
import { resolveClusters, type BenchClusters } from './cluster';
import { fileLogger } from './context';
import { BenchUsageError, type FlagValues } from './flags';
import { linkPackageRoot, REPO_ROOT } from './layout';
import { describeEnvironment, resultFile, writeResults, type Environment, type Report } from './results';

/** What `npm run bench` and `npm run drill` share: clusters, environment record, results files, logs. */
export interface Session {
  readonly cluster: BenchClusters;
  readonly environment: Environment;
  /** Console progress lines. */
  log(line: string): void;
  /** For wal components run in-process: to the `.log` file beside the results. */
  readonly logger: Logger;
  readonly logFile: string;
  /** Writes the results JSON; answers its path relative to the working directory. */
  save(reports: Report[]): string;
}

/** Finds (or starts) the clusters, records the machine and prints the run's first line. */
export async function openSession(kind: Environment['kind'], flags: FlagValues, clusterNames: string[], quick: boolean): Promise<Session> {
  linkPackageRoot();
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const cluster = await resolveClusters({ names: clusterNames, clusterDir: flags['cluster-dir'] as string | undefined, privateDir: path.join(REPO_ROOT, '.wal', 'bench'), log });
  const environment = describeEnvironment(kind, cluster.clusters, cluster.origin);
  const outDir = path.resolve(String(flags.out ?? path.join(REPO_ROOT, 'bench', 'results')));
  const logFile = resultFile(outDir, environment, 'log');
  log(
    `wal ${kind} (${quick ? 'quick' : 'full'}): ${os.cpus().length} × ${environment.machine.cpuModel}, Node ${process.version}, ` +
      `Kafka ${cluster.clusters.map((c) => `${c.name} ${c.kafkaVersion} at ${c.brokers.join(',')}`).join('; ')} (${cluster.origin}), load ${environment.machine.loadAverageAtStart.join(' ')}`,
  );
  return {
    cluster,
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
