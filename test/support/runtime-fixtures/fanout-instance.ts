/**
 * A wal instance running the mutation topology (intake → fanout → appliers → tracker) as its own
 * process, so tests can SIGKILL it mid-apply. WAL_FIXTURE (JSON): { configFile, namespace, stateDir,
 * instanceId }. Prints {"event":"started"} once it joined; SIGTERM → graceful stop → exit 0.
 */
import { Kafka, logLevel } from 'kafkajs';
import { findNamespace, loadConfig } from '../../../src/config';
import { mutationTopology } from '../../../src/processors/fanout';
import { NamespaceRunner, WalInstance } from '../../../src/runtime';

interface FixtureConfig {
  configFile: string;
  namespace: string;
  stateDir: string;
  instanceId: string;
}

async function main(): Promise<void> {
  const fixture = JSON.parse(process.env.WAL_FIXTURE ?? '{}') as FixtureConfig;
  const config = loadConfig([fixture.configFile]);
  const namespace = findNamespace(config, fixture.namespace);
  if (!namespace) throw new Error(`namespace ${fixture.namespace} is not in ${fixture.configFile}`);
  const cluster = config.clusters[namespace.cluster]!;
  const runner = new NamespaceRunner({
    kafka: new Kafka({ clientId: `fixture-${fixture.instanceId}`, brokers: cluster.brokers, logLevel: logLevel.NOTHING }),
    namespace,
    topology: mutationTopology(namespace, { clusters: config.clusters }),
    stateDir: fixture.stateDir,
    instanceId: fixture.instanceId,
    tuning: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 10000, maxWaitTimeMs: 200 },
  });
  const instance = new WalInstance(fixture.instanceId, fixture.stateDir, [runner]);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${JSON.stringify({ event: 'stopping', signal })}\n`);
    instance.stop(20000).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await instance.start();
  process.stdout.write(`${JSON.stringify({ event: 'started' })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`fixture failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(2);
});
