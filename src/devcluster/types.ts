import type { DevTargetsRecord } from './targets';

/** Where one Kafka cluster and its schema registry answer. */
export interface ClusterEndpoints {
  /** Alias used in configs and topic renames: "A", "B". */
  readonly name: string;
  readonly brokers: string[];
  readonly registryUrl: string;
  /** How the cluster was obtained. */
  readonly source: 'env' | 'testcontainers' | 'jvm';
  /** Broker version, when known (env-provided clusters do not tell). */
  readonly kafkaVersion: string;
  readonly registryVersion: string;
}

/** A set of running clusters and how to stop them. */
export interface DevCluster {
  readonly clusters: ClusterEndpoints[];
  /** PostgreSQL, Redis and memcached, when started with `targets`. */
  readonly targets?: DevTargetsRecord;
  stop(): Promise<void>;
}

export interface DevClusterOptions {
  /** Cluster aliases to bring up; the first is "A". */
  names?: string[];
  /** Apache Kafka version for the JVM and container paths. */
  kafkaVersion?: string;
  /** Apicurio Registry version for the JVM and container paths. */
  registryVersion?: string;
  /** Directory for broker data, logs and the state file of the JVM path. */
  workDir: string;
  /** Keep processes running after this Node process exits (`wal dev up`). */
  detach?: boolean;
  /** Also start PostgreSQL, Redis and memcached (Debian binaries) for the sample topologies' targets. */
  targets?: boolean;
  /** Force one bring-up path instead of env → docker → jvm. */
  mode?: 'env' | 'docker' | 'jvm';
  /** Progress lines for long steps (Maven downloads, broker start). */
  onProgress?: (message: string) => void;
}

export const DEFAULT_KAFKA_VERSION = '4.1.1';
/** Apicurio 3.0.x is the newest line that runs on Java 17 (3.1+ is built for Java 21). */
export const DEFAULT_REGISTRY_VERSION = '3.0.9';
