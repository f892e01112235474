import fs from 'node:fs';
import path from 'node:path';
import { dockerEngineAnswers, requireTestcontainers, startContainerCluster, testcontainersInstalled } from './containers';
import { DevClusterError } from './errors';
import { JvmClusterRecord, startJvmCluster } from './jvm';
import { checkJava } from './maven';
import { isAlive, stopProcessGroup } from './process';
import { checkTargetBinaries, DevTargetsRecord, startDevTargets, stopRecordedTargets } from './targets';
import { ClusterEndpoints, DEFAULT_KAFKA_VERSION, DEFAULT_REGISTRY_VERSION, DevCluster, DevClusterOptions } from './types';

export * from './errors';
export * from './types';
export { targetsAreRunning, DEV_POSTGRES_APP } from './targets';
export type { CassandraRecord, DevTargetsRecord, MemcachedRecord, PostgresRecord, RedisRecord } from './targets';
export { startJvmBroker, type JvmBroker, type JvmBrokerOptions } from './jvm';

const STATE_FILE = 'cluster.json';

/**
 * cluster.json. `targets` was added later: files without it (clusters only) still read, and readers
 * that predate it ignore it.
 */
export interface DevClusterState {
  startedAt: string;
  clusters: Array<ClusterEndpoints | JvmClusterRecord>;
  targets?: DevTargetsRecord;
}
type StateFile = DevClusterState;

/** Suffix of the env vars for a cluster alias: A → "", B → "_B". */
function envSuffix(name: string, index: number): string {
  return index === 0 ? '' : `_${name.toUpperCase()}`;
}

/** Clusters given by KAFKA_BROKERS / SCHEMA_REGISTRY_URL (and the _B variants), or undefined. */
export function clustersFromEnv(names: string[], env: NodeJS.ProcessEnv = process.env): ClusterEndpoints[] | undefined {
  if (!env.KAFKA_BROKERS) return undefined;
  return names.map((name, index) => {
    const suffix = envSuffix(name, index);
    const brokers = env[`KAFKA_BROKERS${suffix}`];
    const registryUrl = env[`SCHEMA_REGISTRY_URL${suffix}`] ?? env.SCHEMA_REGISTRY_URL;
    if (!brokers) {
      throw new DevClusterError(`KAFKA_BROKERS is set but KAFKA_BROKERS${suffix} is not: cluster ${name} needs its own brokers (replication tests use two independent clusters)`);
    }
    if (!registryUrl) {
      throw new DevClusterError(`KAFKA_BROKERS${suffix} is set but SCHEMA_REGISTRY_URL${suffix} is not: wal needs a Confluent-compatible schema registry`);
    }
    return {
      name,
      brokers: brokers.split(',').map((b) => b.trim()).filter(Boolean),
      registryUrl: registryUrl.replace(/\/+$/, ''),
      source: 'env' as const,
      kafkaVersion: env[`KAFKA_VERSION${suffix}`] ?? 'unknown (external cluster)',
      registryVersion: 'external',
    };
  });
}

/**
 * Brings up local clusters in the order users expect: use what the environment names; else
 * testcontainers when a Docker engine answers and testcontainers is installed (a dev dependency);
 * else Kafka and Apicurio from Maven Central jars.
 * With `targets`, PostgreSQL, Redis and memcached start alongside (any path), recorded in the same state file.
 */
export async function startDevCluster(options: DevClusterOptions): Promise<DevCluster> {
  const names = options.names ?? ['A'];
  const kafkaVersion = options.kafkaVersion ?? process.env.WAL_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  const registryVersion = options.registryVersion ?? process.env.WAL_REGISTRY_VERSION ?? DEFAULT_REGISTRY_VERSION;
  const progress = options.onProgress ?? (() => undefined);
  const mode = options.mode ?? (process.env.WAL_DEV_MODE as DevClusterOptions['mode']);
  const detach = options.detach ?? false;
  // Fail fast and clearly, before a minute of JVM start-up.
  if (options.targets) checkTargetBinaries();

  const state: StateFile = { startedAt: new Date().toISOString(), clusters: [] };
  const save = (): void => writeState(options.workDir, state);
  let startClusters: () => Promise<{ clusters: ClusterEndpoints[]; stop(): Promise<void> }>;
  let recordsState = options.targets ?? false;

  if (mode === 'env' || (mode === undefined && process.env.KAFKA_BROKERS)) {
    const clusters = clustersFromEnv(names);
    if (!clusters) throw new DevClusterError('WAL_DEV_MODE=env but KAFKA_BROKERS is not set');
    startClusters = async () => ({ clusters, stop: async () => undefined });
  } else if (mode === 'docker' || (mode === undefined && (await dockerPathAvailable(progress)))) {
    requireTestcontainers();
    startClusters = async () => {
      progress('a Docker engine answers: starting Kafka and Apicurio Registry with testcontainers');
      const started = await Promise.all(names.map((name) => startContainerCluster(name, kafkaVersion, registryVersion)));
      return { clusters: started.map((s) => s.endpoints), stop: async () => void (await Promise.all(started.map((s) => s.stop()))) };
    };
  } else {
    checkJava();
    recordsState = true;
    startClusters = () => startJvmClusters({ names, workDir: options.workDir, kafkaVersion, registryVersion, detach, progress, state, save });
  }

  if (recordsState) await stopRecordedCluster(options.workDir);
  // The targets take a few seconds; they start while the JVMs load classes.
  const targetsStarting = options.targets
    ? startDevTargets({ workDir: options.workDir, detach, onProgress: progress }).then((t) => {
        state.targets = t.record;
        save();
        return t;
      })
    : undefined;
  const [clusters, targets] = await Promise.allSettled([startClusters(), targetsStarting]);
  const stopAll = async (): Promise<void> => {
    await Promise.all([
      clusters.status === 'fulfilled' ? clusters.value.stop() : undefined,
      targets.status === 'fulfilled' ? targets.value?.stop() : undefined,
    ]);
    if (recordsState) fs.rmSync(path.join(options.workDir, STATE_FILE), { force: true });
  };
  if (clusters.status === 'rejected' || targets.status === 'rejected') {
    await stopAll();
    throw clusters.status === 'rejected' ? clusters.reason : (targets as PromiseRejectedResult).reason;
  }
  state.clusters = clusters.value.clusters;
  if (recordsState) save();
  return { clusters: clusters.value.clusters, targets: targets.value?.record, stop: stopAll };
}

/** A Docker engine answers and testcontainers is installed; a Docker engine alone falls back to the JVM path. */
async function dockerPathAvailable(progress: (message: string) => void): Promise<boolean> {
  if (!(await dockerEngineAnswers())) return false;
  if (testcontainersInstalled()) return true;
  progress('a Docker engine answers but testcontainers (a dev dependency) is not installed: using the JVM path');
  return false;
}

interface JvmStartContext {
  names: string[];
  workDir: string;
  kafkaVersion: string;
  registryVersion: string;
  detach: boolean;
  progress: (message: string) => void;
  state: StateFile;
  save: () => void;
}

/** Clusters start concurrently: each is mostly waiting on JVM class loading and disk. */
async function startJvmClusters(ctx: JvmStartContext): Promise<{ clusters: JvmClusterRecord[]; stop(): Promise<void> }> {
  const records: JvmClusterRecord[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(records.flatMap((r) => [stopProcessGroup(r.brokerPid), stopProcessGroup(r.registryPid)]));
  };
  const results = await Promise.allSettled(
    ctx.names.map(async (name) => {
      ctx.progress(`starting cluster ${name}: Apache Kafka ${ctx.kafkaVersion} (KRaft) + Apicurio Registry ${ctx.registryVersion} from Maven Central jars`);
      const { record } = await startJvmCluster({
        name,
        dir: path.join(ctx.workDir, `cluster-${name.toLowerCase()}`),
        kafkaVersion: ctx.kafkaVersion,
        registryVersion: ctx.registryVersion,
        detach: ctx.detach,
        onProgress: ctx.progress,
      });
      records.push(record);
      // Recorded as soon as it runs, so `wal dev down` can stop it even if a sibling fails.
      ctx.state.clusters = [...records];
      ctx.save();
      ctx.progress(`cluster ${name} ready: brokers ${record.brokers.join(',')}, registry ${record.registryUrl}`);
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  records.sort((a, b) => ctx.names.indexOf(a.name) - ctx.names.indexOf(b.name));
  return { clusters: records, stop };
}

function writeState(workDir: string, state: StateFile): void {
  fs.mkdirSync(workDir, { recursive: true });
  fs.writeFileSync(path.join(workDir, STATE_FILE), JSON.stringify(state, null, 2));
}

/** The clusters (and targets) recorded in a work dir by an earlier start, or undefined. */
export function readDevClusterState(workDir: string): DevClusterState | undefined {
  const file = path.join(workDir, STATE_FILE);
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as DevClusterState;
}

/** Whether every process of a recorded JVM cluster is still running. */
export function recordIsRunning(cluster: ClusterEndpoints | JvmClusterRecord): boolean {
  if (!('brokerPid' in cluster)) return true;
  return isAlive(cluster.brokerPid) && isAlive(cluster.registryPid);
}

/**
 * Starts PostgreSQL, Redis and memcached for clusters that already run (recorded without targets, or the
 * targets died), and records them: `wal dev up` stays idempotent without restarting the JVMs.
 */
export async function addDevTargets(workDir: string, options: { detach: boolean; onProgress?: (message: string) => void }): Promise<DevTargetsRecord> {
  checkTargetBinaries();
  const state = readDevClusterState(workDir);
  if (!state) throw new DevClusterError(`no local cluster recorded in ${workDir}: run wal dev up`);
  if (state.targets) await stopRecordedTargets(state.targets);
  const { record } = await startDevTargets({ workDir, detach: options.detach, onProgress: options.onProgress });
  writeState(workDir, { ...state, targets: record });
  return record;
}

/** Stops whatever an earlier start recorded in this work dir (a detached `wal dev up`, or an orphan). */
export async function stopRecordedCluster(workDir: string): Promise<number> {
  const state = readDevClusterState(workDir);
  if (!state) return 0;
  let stopped = 0;
  const stopping: Array<Promise<void>> = [];
  for (const cluster of state.clusters) {
    if ('brokerPid' in cluster) {
      for (const pid of [cluster.brokerPid, cluster.registryPid]) {
        if (isAlive(pid) && isOurs(pid, cluster.dir)) {
          stopping.push(stopProcessGroup(pid));
          stopped += 1;
        }
      }
    }
  }
  const targets = state.targets ? stopRecordedTargets(state.targets) : Promise.resolve(0);
  await Promise.all(stopping);
  stopped += await targets;
  fs.rmSync(path.join(workDir, STATE_FILE), { force: true });
  return stopped;
}

/** Guards against killing an unrelated process that reused a recorded pid. */
function isOurs(pid: number, dir: string): boolean {
  try {
    const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    return path.resolve(cwd) === path.resolve(dir);
  } catch {
    // No /proc (macOS): fall back to trusting the record.
    return process.platform !== 'linux';
  }
}
export { DEFAULT_ELASTICMQ_VERSION, ensureRecordedElasticMq, fetchElasticMq, startElasticMq, stopRecordedElasticMq, type ElasticMqServer, type StartElasticMqOptions } from './elasticmq';
