import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '@jest/types';
import { startDevCluster, startElasticMq, stopRecordedCluster } from '../../src/devcluster';
import { startCassandra } from '../../src/devcluster/cassandra';
import { CASSANDRA_ENV, type TestCassandra } from './cassandra';
import { CLUSTERS_ENV } from './clusters';
import { SQS_ENDPOINT_ENV } from './sqs';

/**
 * Brings up clusters A and B once for the whole integration run and hands their endpoints to the
 * test workers through an env var. If a real component cannot start, this throws and the run fails:
 * integration tests are never skipped.
 */
export default async function globalSetup(globalConfig: Config.GlobalConfig): Promise<void> {
  const started = Date.now();
  const log = (message: string): void => {
    process.stdout.write(`[wal test cluster] ${message}\n`);
  };
  const workDir = await freshRunDir();
  (globalThis as Record<string, unknown>).__WAL_DEV_CLUSTER_DIR__ = workDir;
  // ElasticMQ (the SQS API) starts while the brokers do; stopped in global-teardown.
  const sqs = startElasticMq({ dir: path.join(workDir, 'elasticmq'), onProgress: log });
  void sqs.catch(() => undefined);
  (globalThis as Record<string, unknown>).__WAL_SQS__ = sqs;
  // Cassandra (a 512 MiB JVM, ~15 s) only when a selected file uses it; it starts beside the Kafka clusters.
  const cassandraStarting = needsCassandra(globalConfig)
    ? startCassandra({ onProgress: (m) => log(`cassandra: ${m}`) }).then((node) => {
        (globalThis as Record<string, unknown>).__WAL_CASSANDRA__ = node;
        return node;
      })
    : undefined;
  const [started1, cassandra] = await Promise.allSettled([startDevCluster({ names: ['A', 'B'], workDir, onProgress: log }), cassandraStarting]);
  if (started1.status === 'rejected' || cassandra.status === 'rejected') {
    await Promise.allSettled([
      started1.status === 'fulfilled' ? started1.value.stop() : undefined,
      cassandra.status === 'fulfilled' ? cassandra.value?.stop() : undefined,
    ]);
    throw started1.status === 'rejected' ? started1.reason : (cassandra as PromiseRejectedResult).reason;
  }
  const cluster = started1.value;
  (globalThis as Record<string, unknown>).__WAL_DEV_CLUSTER__ = cluster;
  if (cassandra.value) {
    const node: TestCassandra = { contactPoint: cassandra.value.contactPoint, localDataCenter: cassandra.value.localDataCenter, pid: cassandra.value.pid };
    process.env[CASSANDRA_ENV] = JSON.stringify(node);
    log(`Apache Cassandra ${cassandra.value.version} (jars from Maven Central) at ${node.contactPoint}`);
  }
  const elasticMq = await sqs;
  process.env[SQS_ENDPOINT_ENV] = elasticMq.endpoint;
  // ElasticMQ takes any credentials; real ones in the environment (real AWS) are left alone.
  process.env.AWS_ACCESS_KEY_ID ??= 'wal-test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'wal-test';
  log(`ElasticMQ (SQS) at ${elasticMq.endpoint}`);
  process.env[CLUSTERS_ENV] = JSON.stringify(cluster.clusters);
  for (const c of cluster.clusters) {
    log(`cluster ${c.name}: Apache Kafka ${c.kafkaVersion} via ${c.source} at ${c.brokers.join(',')}; ${c.registryVersion} at ${c.registryUrl}`);
  }
  log(`clusters ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Whether any integration file this run selects imports test/support/cassandra. */
function needsCassandra(globalConfig: Config.GlobalConfig): boolean {
  if (process.env.WAL_TEST_CASSANDRA_ALWAYS === '1') return true;
  const dir = path.resolve(__dirname, '..', 'integration');
  const pattern = globalConfig.testPathPattern ? new RegExp(globalConfig.testPathPattern, 'i') : undefined;
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join(dir, f))
    .filter((file) => !pattern || pattern.test(file))
    .some((file) => /from '\.\.\/support\/cassandra'/.test(fs.readFileSync(file, 'utf8')));
}

const TEST_ROOT = path.resolve(__dirname, '..', '..', '.wal-test');

/**
 * A work dir of this run's own, so that two test runs on one machine do not stop each other's
 * clusters; dirs of runs whose jest process is gone are stopped and removed first.
 */
async function freshRunDir(): Promise<string> {
  fs.mkdirSync(TEST_ROOT, { recursive: true });
  for (const entry of fs.readdirSync(TEST_ROOT)) {
    const pid = Number(/^run-(\d+)$/.exec(entry)?.[1]);
    if (!pid || isAlive(pid)) continue;
    const dir = path.join(TEST_ROOT, entry);
    await stopRecordedCluster(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const dir = path.join(TEST_ROOT, `run-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  return dir;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
