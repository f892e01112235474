import path from 'node:path';
import { Command } from 'commander';
import {
  addDevTargets,
  DEFAULT_KAFKA_VERSION,
  DEFAULT_REGISTRY_VERSION,
  DEFAULT_ELASTICMQ_VERSION,
  DevClusterError,
  ensureRecordedElasticMq,
  fetchElasticMq,
  readDevClusterState,
  recordIsRunning,
  startDevCluster,
  stopRecordedCluster,
  stopRecordedElasticMq,
  targetsAreRunning,
} from '../../devcluster';
import { cassandraClasspath, DEFAULT_CASSANDRA_VERSION } from '../../devcluster/cassandra';
import { checkJava, kafkaClasspath, registryJar } from '../../devcluster/maven';
import type { ClusterEndpoints, DevTargetsRecord } from '../../devcluster';

const DEFAULT_DIR = path.join(process.cwd(), '.wal', 'dev');

/**
 * Lines a user can paste into a shell (or `eval`) to point wal (and other tools) at the dev cluster:
 * comments and exports only.
 */
export function describeClusters(clusters: ClusterEndpoints[], targets?: DevTargetsRecord): string {
  const lines = clusters
    .map((c, i) => {
      const suffix = i === 0 ? '' : `_${c.name}`;
      return [
        `# cluster ${c.name}: Apache Kafka ${c.kafkaVersion} (${c.source}), ${c.registryVersion}`,
        `export KAFKA_BROKERS${suffix}=${c.brokers.join(',')}`,
        `export SCHEMA_REGISTRY_URL${suffix}=${c.registryUrl}`,
      ].join('\n');
    });
  if (targets) {
    lines.push(
      [
        `# PostgreSQL ${targets.postgres.version} (role and database "wal"), data in ${targets.postgres.dir}`,
        `export WAL_POSTGRES_URL=${targets.postgres.url}`,
        `# Redis (in memory), log in ${targets.redis.dir}`,
        `export WAL_REDIS_URL=${targets.redis.url}`,
        ...(targets.memcached
          ? [`# memcached (in memory), log in ${targets.memcached.dir}`, `export WAL_MEMCACHED_SERVERS=${targets.memcached.address}`]
          : []),
        ...(targets.memcachedB
          ? [`# memcached of region B (cache-replication.yaml), log in ${targets.memcachedB.dir}`, `export WAL_MEMCACHED_SERVERS_B=${targets.memcachedB.address}`]
          : []),
        ...(targets.cassandra
          ? [
              `# Apache Cassandra ${targets.cassandra.version} (datacenter ${targets.cassandra.localDataCenter}), data and log in ${targets.cassandra.dir}`,
              `export WAL_CASSANDRA_CONTACT_POINTS=${targets.cassandra.contactPoint}`,
            ]
          : []),
      ].join('\n'),
    );
  }
  return lines.join('\n');
}

/** Exports for the dev ElasticMQ: its endpoint, and dummy credentials unless real ones are set. */
export function describeSqs(sqs: { endpoint: string; version: string }): string {
  return [
    `# ElasticMQ ${sqs.version} (SQS API, in memory): the endpoint of SQS namespaces`,
    `export WAL_SQS_ENDPOINT=${sqs.endpoint}`,
    'export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-wal-dev} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-wal-dev} AWS_REGION=${AWS_REGION:-us-east-1}',
  ].join('\n');
}

/** Exit code 1 with the message alone (no stack) for errors that say what to do. */
function fail(error: unknown): never {
  if (error instanceof DevClusterError) {
    process.stderr.write(`wal dev: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

export function registerDev(program: Command): void {
  const dev = program.command('dev').description('a local Kafka + schema registry cluster (Docker if it answers, else JVM jars from Maven Central), with PostgreSQL, Redis, memcached and Cassandra');

  dev
    .command('up')
    .description('start local clusters (and PostgreSQL, Redis, memcached, Cassandra) in the background and print shell exports for them; reuses a running one')
    .option('--clusters <names>', 'comma-separated cluster aliases (B is needed for replication)', 'A,B')
    .option('--dir <dir>', 'where broker data, logs and the state file live', DEFAULT_DIR)
    .option('--kafka-version <version>', 'Apache Kafka version (JVM and Docker paths)')
    .option('--foreground', 'stay in the foreground and stop the clusters on Ctrl-C')
    .option('--no-targets', 'do not start PostgreSQL, Redis, memcached and Cassandra (the sample topologies\' delivery targets)')
    .option('--no-sqs', 'do not start ElasticMQ (the SQS API of SQS-backed namespaces)')
    .action(async (options: { clusters: string; dir: string; kafkaVersion?: string; foreground?: boolean; targets: boolean; sqs: boolean }) => {
      const progress = (m: string): boolean => process.stderr.write(`wal dev: ${m}\n`);
      // stdout carries only comments and exports, so `eval "$(wal dev up)"` works; the rest goes to stderr.
      const state = readDevClusterState(options.dir);
      if (state && state.clusters.every(recordIsRunning)) {
        let targets = state.targets;
        if (targets && !targetsAreRunning(targets)) {
          progress('PostgreSQL, Redis, memcached or Cassandra is no longer running: restarting them');
          targets = undefined;
        }
        if (options.targets && !targets) {
          targets = await addDevTargets(options.dir, { detach: true, onProgress: progress }).catch(fail);
        }
        const sqs = options.sqs ? await ensureRecordedElasticMq(options.dir, progress).catch(fail) : undefined;
        progress(`already running (started ${state.startedAt}); stop with: wal dev down${options.dir === DEFAULT_DIR ? '' : ` --dir ${options.dir}`}`);
        process.stdout.write(`${describeClusters(state.clusters, targets)}\n${sqs ? `${describeSqs(sqs)}\n` : ''}`);
        return;
      }
      const cluster = await startDevCluster({
        names: options.clusters.split(',').map((n) => n.trim().toUpperCase()).filter(Boolean),
        workDir: options.dir,
        detach: !options.foreground,
        kafkaVersion: options.kafkaVersion,
        targets: options.targets,
        onProgress: progress,
      }).catch(fail);
      const sqs = options.sqs ? await ensureRecordedElasticMq(options.dir, progress).catch(fail) : undefined;
      process.stdout.write(`${describeClusters(cluster.clusters, cluster.targets)}\n${sqs ? `${describeSqs(sqs)}\n` : ''}`);
      if (!options.foreground) {
        process.stderr.write(`wal dev: running in the background; stop with: wal dev down${options.dir === DEFAULT_DIR ? '' : ` --dir ${options.dir}`}\n`);
        return;
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      process.stderr.write('wal dev: stopping\n');
      await cluster.stop();
      await stopRecordedElasticMq(options.dir);
    });

  dev
    .command('fetch')
    .description('fetch the Kafka broker, schema registry, Cassandra and ElasticMQ jars from Maven Central into ~/.m2 (the JVM path; no Docker needed)')
    .option('--kafka-version <version>', 'Apache Kafka version', process.env.WAL_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION)
    .option('--registry-version <version>', 'Apicurio Registry version', process.env.WAL_REGISTRY_VERSION ?? DEFAULT_REGISTRY_VERSION)
    .option('--cassandra-version <version>', 'Apache Cassandra version', process.env.WAL_CASSANDRA_VERSION ?? DEFAULT_CASSANDRA_VERSION)
    .option('--elasticmq-version <version>', 'ElasticMQ version (the SQS API of SQS-backed namespaces)', process.env.WAL_ELASTICMQ_VERSION ?? DEFAULT_ELASTICMQ_VERSION)
    .action(async (options: { kafkaVersion: string; registryVersion: string; cassandraVersion: string; elasticmqVersion: string }) => {
      const started = Date.now();
      const progress = (m: string): boolean => process.stderr.write(`wal dev: ${m}\n`);
      process.stdout.write(`${checkJava()}\n`);
      const classpath = await kafkaClasspath(options.kafkaVersion, progress);
      const jar = await registryJar(options.registryVersion, progress);
      const cassandra = await cassandraClasspath(options.cassandraVersion, progress);
      const elasticMq = await fetchElasticMq(options.elasticmqVersion, progress);
      process.stdout.write(
        `Apache Kafka ${options.kafkaVersion}: ${classpath.split(':').length} jars\nApicurio Registry ${options.registryVersion}: ${jar}\n` +
          `Apache Cassandra ${options.cassandraVersion}: ${cassandra.split(':').length} jars\nElasticMQ ${options.elasticmqVersion}: ${elasticMq.split(':').length} jars\n` +
          `ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
    });

  dev
    .command('down')
    .description('stop the local clusters, PostgreSQL, Redis, memcached and Cassandra started by `wal dev up`')
    .option('--dir <dir>', 'the directory given to `wal dev up`', DEFAULT_DIR)
    .action(async (options: { dir: string }) => {
      const stopped = (await stopRecordedCluster(options.dir).catch(fail)) + (await stopRecordedElasticMq(options.dir).catch(fail));
      process.stdout.write(stopped > 0 ? `stopped ${stopped} processes\n` : 'no local cluster was running\n');
    });

  dev
    .command('status')
    .description('show whether the local clusters are running and where')
    .option('--dir <dir>', 'the directory given to `wal dev up`', DEFAULT_DIR)
    .action((options: { dir: string }) => {
      const state = readDevClusterState(options.dir);
      if (!state) {
        process.stdout.write('no local cluster (start one with: wal dev up)\n');
        process.exitCode = 3;
        return;
      }
      const running = state.clusters.every(recordIsRunning) && (!state.targets || targetsAreRunning(state.targets));
      process.stdout.write(`${running ? 'running' : 'NOT running (some processes died; run wal dev up again, or wal dev down)'} since ${state.startedAt}\n${describeClusters(state.clusters, state.targets)}\n`);
      if (!running) process.exitCode = 1;
    });
}
