/**
 * One delayed-queue instance as its own process, so a drill can kill -9 it. What `wal start` does
 * (WalInstance over a NamespaceRunner, graceful stop on SIGTERM), with the drills' short session
 * timeout so that a killed member's partitions move within seconds.
 * Configured by WAL_DRILL_INSTANCE (JSON); prints {"event":"started"} once running.
 */
import { loadConfig } from '../../src/config';
import { createKafkaClient } from '../../src/kafka';
import { createLogger } from '../../src/observability/logger';
import { delayedQueueTopology } from '../../src/processors/delay';
import { NamespaceRunner, WalInstance } from '../../src/runtime';
import { linkSchemas } from '../lib/layout';
import { BENCH_TUNING } from '../lib/queue';

export interface InstanceSpec {
  readonly topologyFile: string;
  readonly namespace: string;
  readonly instanceId: string;
  readonly stateDir: string;
}

async function main(): Promise<void> {
  linkSchemas();
  const spec = JSON.parse(process.env.WAL_DRILL_INSTANCE ?? '{}') as InstanceSpec;
  const config = loadConfig([spec.topologyFile]);
  const namespace = config.namespaces.find((n) => n.name === spec.namespace);
  if (!namespace) throw new Error(`namespace ${spec.namespace} is not in ${spec.topologyFile}`);
  const logger = createLogger({ instance: spec.instanceId });
  const runner = new NamespaceRunner({
    kafka: createKafkaClient(config.clusters[namespace.cluster]!, `wal-drill-${spec.instanceId}`),
    namespace,
    topology: delayedQueueTopology(namespace, { clusters: config.clusters }),
    stateDir: spec.stateDir,
    instanceId: spec.instanceId,
    logger,
    tuning: BENCH_TUNING,
  });
  const instance = new WalInstance(spec.instanceId, spec.stateDir, [runner], logger);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    instance.stop(20_000).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await instance.start();
  process.stdout.write(`${JSON.stringify({ event: 'started' })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`drill instance failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(2);
});
