import type { DevCluster } from '../../src/devcluster';

export default async function globalTeardown(): Promise<void> {
  const cluster = (globalThis as Record<string, unknown>).__WAL_DEV_CLUSTER__ as DevCluster | undefined;
  await cluster?.stop();
}
