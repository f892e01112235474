/**
 * The body of a child-process fixture that runs one namespace in a WalInstance, so tests can
 * SIGKILL it: reads WAL_FIXTURE (JSON), builds the runner with short group timeouts, prints
 * {"event":"started"} once it joined; SIGTERM / SIGINT → {"event":"stopping"} → graceful stop →
 * exit 0 (1 when the stop fails); a failed start → exit 2.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { NamespaceConfig } from '../../../src/config/types';
import { NamespaceRunner, WalInstance, type RunnerTuning, type Topology } from '../../../src/runtime';

/** What an entry point derives from its WAL_FIXTURE config. */
export interface InstanceFixture {
  brokers: string[];
  namespace: NamespaceConfig;
  topology: Topology;
  stateDir: string;
  instanceId: string;
  /** On top of the fixture's short session / heartbeat / rebalance timeouts. */
  tuning?: RunnerTuning;
}

/** Runs the fixture `setup` builds from the WAL_FIXTURE config; call once, at the entry point's top level. */
export function runInstanceFixture<C>(setup: (config: C) => InstanceFixture): void {
  main(setup).catch((error: unknown) => {
    process.stderr.write(`fixture failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(2);
  });
}

async function main<C>(setup: (config: C) => InstanceFixture): Promise<void> {
  const fixture = setup(JSON.parse(process.env.WAL_FIXTURE ?? '{}') as C);
  const runner = new NamespaceRunner({
    kafka: new Kafka({ clientId: `fixture-${fixture.instanceId}`, brokers: fixture.brokers, logLevel: logLevel.NOTHING }),
    namespace: fixture.namespace,
    topology: fixture.topology,
    stateDir: fixture.stateDir,
    instanceId: fixture.instanceId,
    tuning: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 10000, ...fixture.tuning },
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
