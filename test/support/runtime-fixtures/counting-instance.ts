/**
 * A wal instance running the counting topology as its own process, so tests can SIGKILL it.
 * Configured by the WAL_FIXTURE env var (JSON); prints {"event":"started"} once it joined.
 * SIGTERM → graceful stop → exit 0.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { ProcessingGuarantee } from '../../../src/config/types';
import { NamespaceRunner, WalInstance } from '../../../src/runtime';
import { countingTopology, testNamespace } from './counting';

interface FixtureConfig {
  brokers: string[];
  namespace: string;
  input: string;
  output: string;
  partitions: number;
  guarantee: ProcessingGuarantee;
  stateDir: string;
  instanceId: string;
  commitIntervalMs?: number;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.WAL_FIXTURE ?? '{}') as FixtureConfig;
  const kafka = new Kafka({ clientId: `fixture-${config.instanceId}`, brokers: config.brokers, logLevel: logLevel.NOTHING });
  const runner = new NamespaceRunner({
    kafka,
    namespace: testNamespace(config.namespace, {
      intake: config.input,
      partitions: config.partitions,
      guarantee: config.guarantee,
      commitIntervalMs: config.commitIntervalMs,
    }),
    topology: countingTopology(config.input, config.output),
    stateDir: config.stateDir,
    instanceId: config.instanceId,
    tuning: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 10000 },
  });
  const instance = new WalInstance(config.instanceId, config.stateDir, [runner]);
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
