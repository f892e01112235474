import type { ClusterEndpoints } from '../../src/devcluster';

/** The env var through which global-setup hands cluster endpoints to test workers. */
export const CLUSTERS_ENV = 'WAL_TEST_CLUSTERS';

/** The running test cluster with this alias ("A" or "B"); fails loudly when the harness did not start it. */
export function testCluster(name: 'A' | 'B' = 'A'): ClusterEndpoints {
  const raw = process.env[CLUSTERS_ENV];
  if (!raw) throw new Error(`${CLUSTERS_ENV} is not set: integration tests must run under jest's global setup (npm test)`);
  const cluster = (JSON.parse(raw) as ClusterEndpoints[]).find((c) => c.name === name);
  if (!cluster) throw new Error(`test cluster ${name} was not started`);
  return cluster;
}

/** A topic name no other test (or earlier run against an external cluster) uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
