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
}

export function clusterA(ctx: BenchContext): ClusterEndpoints {
  return ctx.clusters[0]!;
}
