/**
 * A wal instance running the counting topology as its own process, so tests can SIGKILL it.
 * Configured by the WAL_FIXTURE env var (JSON); prints {"event":"started"} once it joined.
 * SIGTERM → graceful stop → exit 0.
 */
import type { ProcessingGuarantee } from '../../../src/namespaces/types';
import { countingTopology, testNamespace } from './counting';
import { runInstanceFixture } from './instance-fixture';

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

runInstanceFixture((config: FixtureConfig) => ({
  brokers: config.brokers,
  namespace: testNamespace(config.namespace, {
    intake: config.input,
    partitions: config.partitions,
    guarantee: config.guarantee,
    commitIntervalMs: config.commitIntervalMs,
  }),
  topology: countingTopology(config.input, config.output),
  stateDir: config.stateDir,
  instanceId: config.instanceId,
}));
