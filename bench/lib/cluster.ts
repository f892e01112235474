import path from 'node:path';
import { clustersFromEnv, readDevClusterState, recordIsRunning, startDevCluster, type ClusterEndpoints } from '../../src/devcluster';

export interface BenchClusters {
  readonly clusters: ClusterEndpoints[];
  /** How they were found, for the results file. */
  readonly origin: string;
  /** Stops clusters this run started; a no-op for ones it found running. */
  stop(): Promise<void>;
}

/** Clusters recorded by `wal dev up` (or a harness) in `dir`, when every process there still runs. */
function recorded(dir: string, names: string[]): ClusterEndpoints[] | undefined {
  const state = readDevClusterState(dir);
  if (!state) return undefined;
  const found = names.map((name) => state.clusters.find((c) => c.name === name));
  if (found.some((c) => c === undefined || !recordIsRunning(c))) return undefined;
  return found as ClusterEndpoints[];
}

/**
 * The clusters a bench or drill runs on: `--cluster-dir` (a running `wal dev up` dir) first, then
 * KAFKA_BROKERS (+ _B) from the environment, then a running `.wal/dev`, else a private JVM cluster
 * started in `privateDir` and stopped at the end.
 */
export async function resolveClusters(options: { names: string[]; clusterDir?: string; privateDir: string; log: (line: string) => void }): Promise<BenchClusters> {
  const { names, log } = options;
  const none = async (): Promise<void> => undefined;
  if (options.clusterDir) {
    const clusters = recorded(options.clusterDir, names);
    if (!clusters) throw new Error(`--cluster-dir ${options.clusterDir}: no running cluster ${names.join(' + ')} recorded there (start one with \`wal dev up --dir ${options.clusterDir}\`)`);
    return { clusters, origin: `running dev cluster in ${options.clusterDir}`, stop: none };
  }
  if (process.env.KAFKA_BROKERS) {
    const clusters = clustersFromEnv(names)!;
    return { clusters, origin: 'KAFKA_BROKERS / SCHEMA_REGISTRY_URL environment', stop: none };
  }
  const devDir = path.join(process.cwd(), '.wal', 'dev');
  const dev = recorded(devDir, names);
  if (dev) return { clusters: dev, origin: `running dev cluster in ${devDir}`, stop: none };

  log(`no cluster given (KAFKA_BROKERS, --cluster-dir or a running \`wal dev up\`): starting a private JVM cluster ${names.join(' + ')} in ${options.privateDir}`);
  const started = await startDevCluster({ names, workDir: options.privateDir, mode: 'jvm', onProgress: (m) => log(`  ${m}`) });
  return { clusters: started.clusters, origin: `private JVM cluster started in ${options.privateDir}`, stop: () => started.stop() };
}
