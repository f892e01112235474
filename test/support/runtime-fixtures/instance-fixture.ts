/**
 * The body of child-process fixtures, so tests can SIGKILL what they run: a namespace in a
 * WalInstance (runInstanceFixture) or anything else that starts and stops (runFixtureProcess).
 */
import { Kafka, logLevel } from 'kafkajs';
import type { NamespaceConfig } from '../../../src/namespaces/types';
import { NamespaceRunner, type RunnerTuning, type Topology } from '../../../src/engine';
import { WalInstance } from '../../../src/ops/instance';
import { engineOptionsOf } from '../../../src/personas';

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

/** Something a fixture process runs until a signal stops it. */
export interface Stoppable {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The process shell every fixture shares: builds what it runs from the WAL_FIXTURE config, starts it,
 * prints {"event":"started"}; SIGTERM / SIGINT → {"event":"stopping"} → graceful stop → exit 0 (1
 * when the stop fails); a failed start → exit 2. Call once, at the entry point's top level.
 */
export function runFixtureProcess<C>(build: (config: C) => Stoppable): void {
  const main = async (): Promise<void> => {
    const service = build(JSON.parse(process.env.WAL_FIXTURE ?? '{}') as C);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`${JSON.stringify({ event: 'stopping', signal })}\n`);
      service.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    await service.start();
    process.stdout.write(`${JSON.stringify({ event: 'started' })}\n`);
  };
  main().catch((error: unknown) => {
    process.stderr.write(`fixture failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(2);
  });
}

/** Runs the namespace `setup` builds from the WAL_FIXTURE config in a WalInstance with short group timeouts. */
export function runInstanceFixture<C>(setup: (config: C) => InstanceFixture): void {
  runFixtureProcess((config: C) => {
    const fixture = setup(config);
    const runner = new NamespaceRunner({
      kafka: new Kafka({ clientId: `fixture-${fixture.instanceId}`, brokers: fixture.brokers, logLevel: logLevel.NOTHING }),
      engine: engineOptionsOf(fixture.namespace),
      topology: fixture.topology,
      stateDir: fixture.stateDir,
      instanceId: fixture.instanceId,
      tuning: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 10000, ...fixture.tuning },
    });
    const instance = new WalInstance(fixture.instanceId, fixture.stateDir, [runner]);
    return { start: () => instance.start(), stop: () => instance.stop(20000) };
  });
}
