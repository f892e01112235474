import path from 'node:path';
import { startDevCluster } from '../../src/devcluster';
import { CLUSTERS_ENV } from './clusters';

/**
 * Brings up clusters A and B once for the whole integration run and hands their endpoints to the
 * test workers through an env var. If a real component cannot start, this throws and the run fails:
 * integration tests are never skipped.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const log = (message: string): void => {
    process.stdout.write(`[wal test cluster] ${message}\n`);
  };
  const cluster = await startDevCluster({
    names: ['A', 'B'],
    workDir: path.resolve(__dirname, '..', '..', '.wal-test'),
    onProgress: log,
  });
  (globalThis as Record<string, unknown>).__WAL_DEV_CLUSTER__ = cluster;
  process.env[CLUSTERS_ENV] = JSON.stringify(cluster.clusters);
  for (const c of cluster.clusters) {
    log(`cluster ${c.name}: Apache Kafka ${c.kafkaVersion} via ${c.source} at ${c.brokers.join(',')}; ${c.registryVersion} at ${c.registryUrl}`);
  }
  log(`clusters ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
