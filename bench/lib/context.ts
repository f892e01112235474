import pino from 'pino';
import type { ClusterEndpoints } from '../../src/devcluster';
import type { Logger } from '../../src/observability/logger';

/** What every bench and drill gets from the runner. */
export interface BenchContext {
  /** Cluster A (and B when the run asked for two). */
  readonly clusters: ClusterEndpoints[];
  /** Progress lines for the console (stdout). */
  log(line: string): void;
  /** For wal components run in-process: warnings and errors only, so the console stays readable. */
  readonly logger: Logger;
  /** ElasticMQ's endpoint, when the run started or found one (the SQS benches). */
  readonly sqsEndpoint?: string;
}

export function clusterA(ctx: BenchContext): ClusterEndpoints {
  return ctx.clusters[0];
}

/**
 * The logger for wal components run in-process: warnings and errors go to a file next to the
 * results (a broker outage makes kafkajs and the writer loud; the console keeps the progress lines).
 */
export function fileLogger(file: string, bindings: Record<string, unknown>): Logger {
  return pino({ level: process.env.WAL_LOG_LEVEL ?? 'warn', base: { service: 'wal', ...bindings }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: file, mkdir: true, sync: false }));
}
