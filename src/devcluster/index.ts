import fs from 'node:fs';
import path from 'node:path';
import { dockerEngineAnswers, startContainerCluster } from './containers';
import { DevClusterError } from './errors';
import { JvmClusterRecord, startJvmCluster } from './jvm';
import { checkJava } from './maven';
import { isAlive, stopProcessGroup } from './process';
import { ClusterEndpoints, DEFAULT_KAFKA_VERSION, DEFAULT_REGISTRY_VERSION, DevCluster, DevClusterOptions } from './types';

export * from './errors';
export * from './types';

const STATE_FILE = 'cluster.json';

interface StateFile {
  startedAt: string;
  clusters: Array<ClusterEndpoints | JvmClusterRecord>;
}

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
 * testcontainers when a Docker engine answers; else Kafka and Apicurio from Maven Central jars.
 */
export async function startDevCluster(options: DevClusterOptions): Promise<DevCluster> {
  const names = options.names ?? ['A'];
  const kafkaVersion = options.kafkaVersion ?? process.env.WAL_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  const registryVersion = options.registryVersion ?? process.env.WAL_REGISTRY_VERSION ?? DEFAULT_REGISTRY_VERSION;
  const progress = options.onProgress ?? (() => undefined);
  const mode = options.mode ?? (process.env.WAL_DEV_MODE as DevClusterOptions['mode']);

  if (mode === 'env' || (mode === undefined && process.env.KAFKA_BROKERS)) {
    const clusters = clustersFromEnv(names);
    if (!clusters) throw new DevClusterError('WAL_DEV_MODE=env but KAFKA_BROKERS is not set');
    return { clusters, stop: async () => undefined };
  }

  if (mode === 'docker' || (mode === undefined && (await dockerEngineAnswers()))) {
    progress('a Docker engine answers: starting Kafka and Apicurio Registry with testcontainers');
    const started = await Promise.all(names.map((name) => startContainerCluster(name, kafkaVersion, registryVersion)));
    return {
      clusters: started.map((s) => s.endpoints),
      stop: async () => {
        await Promise.all(started.map((s) => s.stop()));
      },
    };
  }

  checkJava();
  await stopRecordedCluster(options.workDir);
  const records: JvmClusterRecord[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(records.flatMap((r) => [stopProcessGroup(r.brokerPid), stopProcessGroup(r.registryPid)]));
    fs.rmSync(path.join(options.workDir, STATE_FILE), { force: true });
  };
  try {
    // Clusters start concurrently: each is mostly waiting on JVM class loading and disk.
    await Promise.all(
      names.map(async (name) => {
        progress(`starting cluster ${name}: Apache Kafka ${kafkaVersion} (KRaft) + Apicurio Registry ${registryVersion} from Maven Central jars`);
        const { record } = await startJvmCluster({
          name,
          dir: path.join(options.workDir, `cluster-${name.toLowerCase()}`),
          kafkaVersion,
          registryVersion,
          detach: options.detach ?? false,
          onProgress: progress,
        });
        records.push(record);
        writeState(options.workDir, records);
        progress(`cluster ${name} ready: brokers ${record.brokers.join(',')}, registry ${record.registryUrl}`);
      }),
    );
    records.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
    writeState(options.workDir, records);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return { clusters: records, stop: stopAll };
}

function writeState(workDir: string, clusters: StateFile['clusters']): void {
  fs.mkdirSync(workDir, { recursive: true });
  const state: StateFile = { startedAt: new Date().toISOString(), clusters };
  fs.writeFileSync(path.join(workDir, STATE_FILE), JSON.stringify(state, null, 2));
}

/** The clusters recorded in a work dir by an earlier start, or undefined. */
export function readDevClusterState(workDir: string): StateFile | undefined {
  const file = path.join(workDir, STATE_FILE);
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as StateFile;
}

/** Whether every process of a recorded JVM cluster is still running. */
export function recordIsRunning(cluster: ClusterEndpoints | JvmClusterRecord): boolean {
  if (!('brokerPid' in cluster)) return true;
  return isAlive(cluster.brokerPid) && isAlive(cluster.registryPid);
}

/** Stops whatever an earlier start recorded in this work dir (a detached `wal dev up`, or an orphan). */
export async function stopRecordedCluster(workDir: string): Promise<number> {
  const state = readDevClusterState(workDir);
  if (!state) return 0;
  let stopped = 0;
  for (const cluster of state.clusters) {
    if ('brokerPid' in cluster) {
      for (const pid of [cluster.brokerPid, cluster.registryPid]) {
        if (isAlive(pid) && isOurs(pid, cluster.dir)) {
          await stopProcessGroup(pid);
          stopped += 1;
        }
      }
    }
  }
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
