import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'cassandra-driver';
import { ProcessStartError } from './errors';
import { prepareServerDir, ReadinessProbe, startLocalServer, type LocalServer } from './local-server';
import { cacheDir, checkJava, resolveClasspath } from './maven';
import { freePort, portAnswers } from './ports';
import { stopProcessGroup } from './process';

/** Apache Cassandra 5.0.x: the newest line on Maven Central that runs on Java 17. */
export const DEFAULT_CASSANDRA_VERSION = '5.0.6';

/** docker/maven/cassandra/pom.xml: Cassandra's dependencies are kept off the Kafka broker's classpath. */
const CASSANDRA_POM = path.resolve(__dirname, '..', '..', 'docker', 'maven', 'cassandra', 'pom.xml');

/** The datacenter name a single node with SimpleSnitch reports; a cassandra target's `localDataCenter`. */
export const CASSANDRA_DATACENTER = 'datacenter1';

/** A single-node Apache Cassandra from Maven Central jars on loopback. */
export interface CassandraServer extends LocalServer {
  /** "127.0.0.1:<native port>", as a cassandra target's `contactPoints` entry. */
  readonly contactPoint: string;
  readonly nativePort: number;
  readonly localDataCenter: string;
  readonly version: string;
}

export interface StartCassandraOptions {
  /** Keep data here across starts; without it a fresh temp dir is used and removed by `stop()`. */
  dir?: string;
  /** Keep running after this Node process exits (`wal dev up`); otherwise a watchdog ends the JVM. */
  detach?: boolean;
  /** Fixed native transport (CQL) port; a free one is picked when absent. */
  nativePort?: number;
  version?: string;
  startTimeoutMs?: number;
  onProgress?: (message: string) => void;
}

const START_TIMEOUT_MS = Number(process.env.WAL_CASSANDRA_READY_TIMEOUT_MS ?? 120_000);

/**
 * The Java classpath of Apache Cassandra of this version (cassandra-all and its runtime
 * dependencies), resolved by Maven once and cached like the Kafka broker's.
 */
export async function cassandraClasspath(version: string, onProgress: (m: string) => void): Promise<string> {
  return resolveClasspath(CASSANDRA_POM, [`-Dcassandra.version=${version}`], path.join(cacheDir(), `cassandra-${version}.classpath`), `Apache Cassandra ${version}`, onProgress);
}

/**
 * `org.apache.cassandra.service.CassandraDaemon` with a generated cassandra.yaml: one node, loopback
 * only, free native and storage ports, no JMX (neither jmx port property is set), a 512 MiB heap and
 * the module flags of Cassandra's own conf/jvm17-server.options. Ready once a CQL query answers
 * through the Node.js driver. The stopped node keeps its data when `dir` is given (`wal dev up`).
 */
export async function startCassandra(options: StartCassandraOptions = {}): Promise<CassandraServer> {
  checkJava();
  const version = options.version ?? process.env.WAL_CASSANDRA_VERSION ?? DEFAULT_CASSANDRA_VERSION;
  const classpath = await cassandraClasspath(version, options.onProgress ?? (() => undefined));
  const serverDir = prepareServerDir('wal-cassandra-', options);
  const { dir } = serverDir;
  const nativePort = options.nativePort ?? (await freePort());
  const storagePort = await freePort();
  if (await portAnswers(nativePort)) throw new ProcessStartError(`cassandra: native transport port ${nativePort} is already in use on 127.0.0.1`);
  const configFile = path.join(dir, 'cassandra.yaml');
  fs.writeFileSync(configFile, cassandraYaml(dir, nativePort, storagePort));
  fs.writeFileSync(path.join(dir, 'logback.xml'), LOGBACK_CONFIG);
  const contactPoint = `127.0.0.1:${nativePort}`;
  return startLocalServer(
    {
      dir: serverDir,
      logFile: path.join(dir, 'cassandra.log'),
      command: 'java',
      args: [
        '-Xms512m',
        '-Xmx512m',
        '-Xss256k',
        '-XX:+UseG1GC',
        '-XX:+ParallelRefProcEnabled',
        '-Djava.awt.headless=true',
        ...JVM17_MODULE_FLAGS,
        '-Dio.netty.tryReflectionSetAccessible=true',
        `-Dcassandra.config=file://${configFile}`,
        `-Dcassandra.storagedir=${path.join(dir, 'data')}`,
        `-Dcassandra.logdir=${path.join(dir, 'logs')}`,
        `-Dlogback.configurationFile=${path.join(dir, 'logback.xml')}`,
        '-Dcassandra-foreground=yes',
        // A single node has no ring to wait for: these cut start-up from ~40 s to a few seconds.
        '-Dcassandra.ring_delay_ms=0',
        '-Dcassandra.skip_wait_for_gossip_to_settle=0',
        '-Dcassandra.superuser_setup_delay_ms=0',
        '-Dcassandra.initial_token=0',
        '-cp',
        classpath,
        'org.apache.cassandra.service.CassandraDaemon',
      ],
      detach: options.detach ?? false,
      probe: cqlAnswers(contactPoint),
      startTimeoutMs: options.startTimeoutMs ?? START_TIMEOUT_MS,
      // SIGTERM runs Cassandra's shutdown hook (drains, flushes the commit log) so the next start is quick.
      stopPid: (pid) => stopProcessGroup(pid, 20_000),
    },
    { contactPoint, nativePort, localDataCenter: CASSANDRA_DATACENTER, version },
  );
}

/** True when a CQL query answers at `contactPoint` ("host:port"). */
export async function cassandraAnswers(contactPoint: string): Promise<boolean> {
  return (await cqlAnswers(contactPoint).check()) === null;
}

function cqlAnswers(contactPoint: string): ReadinessProbe {
  return {
    name: 'cassandra',
    intervalMs: 500,
    check: async () => {
      const client = new Client({
        contactPoints: [contactPoint],
        localDataCenter: CASSANDRA_DATACENTER,
        socketOptions: { connectTimeout: 1000, readTimeout: 2000 },
        pooling: { warmup: false },
      });
      try {
        await client.execute('SELECT release_version FROM system.local');
        return null;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      } finally {
        await client.shutdown().catch(() => undefined);
      }
    },
    timeoutMessage: (timeoutMs, lastError) => `cassandra did not answer a CQL query at ${contactPoint} within ${timeoutMs} ms (last error: ${lastError})`,
  };
}

/** The `--add-exports/--add-opens` list of Cassandra 5.0's conf/jvm17-server.options. */
const JVM17_MODULE_FLAGS = [
  '-Djdk.attach.allowAttachSelf=true',
  ...[
    'java.base/jdk.internal.misc',
    'java.management.rmi/com.sun.jmx.remote.internal.rmi',
    'java.rmi/sun.rmi.registry',
    'java.rmi/sun.rmi.server',
    'java.sql/java.sql',
    'java.base/java.lang.ref',
    'jdk.unsupported/sun.misc',
    'jdk.compiler/com.sun.tools.javac.file',
    'jdk.attach/sun.tools.attach',
  ].map((p) => `--add-exports=${p}=ALL-UNNAMED`),
  ...[
    'java.base/java.lang.module',
    'java.base/jdk.internal.loader',
    'java.base/jdk.internal.ref',
    'java.base/jdk.internal.reflect',
    'java.base/jdk.internal.math',
    'java.base/jdk.internal.module',
    'java.base/jdk.internal.util.jar',
    'jdk.management/com.sun.management.internal',
    'java.base/sun.nio.ch',
    'java.base/java.io',
    'java.base/java.lang.reflect',
    'jdk.compiler/com.sun.tools.javac',
    'java.base/java.lang',
    'java.base/java.util',
  ].map((p) => `--add-opens=${p}=ALL-UNNAMED`),
];

function cassandraYaml(dir: string, nativePort: number, storagePort: number): string {
  const data = (sub: string): string => JSON.stringify(path.join(dir, 'data', sub));
  return `cluster_name: wal-dev
num_tokens: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:${storagePort}"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: ${storagePort}
native_transport_port: ${nativePort}
start_native_transport: true
data_file_directories: [${data('data')}]
commitlog_directory: ${data('commitlog')}
saved_caches_directory: ${data('saved_caches')}
hints_directory: ${data('hints')}
cdc_raw_directory: ${data('cdc_raw')}
commitlog_sync: periodic
commitlog_sync_period: 10000ms
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
# A dev and test node: small caches, no snapshots of dropped tables, quick timeouts.
key_cache_size: 8MiB
auto_snapshot: false
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 8
write_request_timeout: 5000ms
read_request_timeout: 5000ms
dynamic_snitch: false
`;
}

const LOGBACK_CONFIG = `<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d %-5level [%thread] %logger{20}: %msg%n</pattern></encoder>
  </appender>
  <logger name="org.apache.cassandra.service.CassandraDaemon" level="INFO"/>
  <logger name="org.apache.cassandra.transport.Server" level="INFO"/>
  <root level="WARN"><appender-ref ref="STDOUT"/></root>
</configuration>
`;
