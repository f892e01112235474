import fs from 'node:fs';
import type { DevCluster } from '../../src/devcluster';

export default async function globalTeardown(): Promise<void> {
  const cluster = (globalThis as Record<string, unknown>).__WAL_DEV_CLUSTER__ as DevCluster | undefined;
  const dir = (globalThis as Record<string, unknown>).__WAL_DEV_CLUSTER_DIR__ as string | undefined;
  await cluster?.stop();
  // Broker data of a finished run is of no further use; keep it with WAL_KEEP_TEST_DATA=1 to debug.
  if (dir && process.env.WAL_KEEP_TEST_DATA !== '1') fs.rmSync(dir, { recursive: true, force: true });
}
