import fs from 'node:fs';
import type { DevCluster, ElasticMqServer } from '../../src/devcluster';

export default async function globalTeardown(): Promise<void> {
  const cluster = (globalThis as Record<string, unknown>).__WAL_DEV_CLUSTER__ as DevCluster | undefined;
  const dir = (globalThis as Record<string, unknown>).__WAL_DEV_CLUSTER_DIR__ as string | undefined;
  const cassandra = (globalThis as Record<string, unknown>).__WAL_CASSANDRA__ as { stop(): Promise<void> } | undefined;
  const sqs = (globalThis as Record<string, unknown>).__WAL_SQS__ as Promise<ElasticMqServer> | undefined;
  await Promise.all([cluster?.stop(), cassandra?.stop(), sqs?.then((server) => server.stop()).catch(() => undefined)]);
  // Broker data of a finished run is of no further use; keep it with WAL_KEEP_TEST_DATA=1 to debug.
  if (dir && process.env.WAL_KEEP_TEST_DATA !== '1') fs.rmSync(dir, { recursive: true, force: true });
  exitIfHeldOpen(15_000);
}

/**
 * jest runs without forceExit: a green run closes everything and exits right after this teardown.
 * A test that fails mid-way can still leave a handle behind (a kafkajs consumer polling brokers that
 * are now gone, a server); then, instead of hanging, say what keeps the process alive and exit
 * non-zero (jest's own exit handler keeps its failure code when tests failed). The timer is unref'd,
 * so it never delays a clean exit.
 */
function exitIfHeldOpen(graceMs: number): void {
  setTimeout(() => {
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()
      .filter((h) => h !== process.stdin && h !== process.stdout && h !== process.stderr)
      .map(describeHandle);
    process.stderr.write(
      `\nwal test teardown: jest has not exited ${graceMs / 1000} s after the run; a test left open: ` +
        `${process.getActiveResourcesInfo().join(', ')}\n${handles.map((h) => `  ${h}\n`).join('')}`,
    );
    process.exitCode = 1;
    process.exit();
  }, graceMs).unref();
}

function describeHandle(handle: unknown): string {
  const h = handle as { constructor?: { name?: string }; remoteAddress?: string; remotePort?: number; pid?: number; spawnargs?: string[]; address?: () => unknown };
  const kind = h.constructor?.name ?? typeof handle;
  if (h.remotePort !== undefined) return `${kind} to ${h.remoteAddress}:${h.remotePort}`;
  if (h.pid !== undefined) return `${kind} ${h.pid}: ${(h.spawnargs ?? []).join(' ')}`;
  if (typeof h.address === 'function') return `${kind} on ${JSON.stringify(h.address())}`;
  return kind;
}
