import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { NamespaceRunner, type RunnerTuning } from '../../src/engine';
import type { ProcessingGuarantee } from '../../src/namespaces/types';
import type { Logger } from '../../src/observability/logger';
import { engineOptionsOf } from '../../src/personas';
import { passthroughTopology } from '../../src/personas/passthrough';
import { testNamespace } from '../../test/support/runtime-fixtures/counting';

export interface EnginePassthroughOptions {
  /** The namespace's name (its consumer group, its state dir's prefix). */
  readonly name: string;
  readonly input: string;
  readonly output: string;
  readonly partitions: number;
  readonly guarantee: ProcessingGuarantee;
  readonly commitIntervalMs: number;
  readonly logger: Logger;
  readonly tuning?: RunnerTuning;
}

/** The engine running the passthrough topology `input` → `output` in this process, state in a scratch dir. */
export async function startEnginePassthrough(kafka: Kafka, o: EnginePassthroughOptions): Promise<{ stop(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wal-bench-engine-'));
  const runner = new NamespaceRunner({
    kafka,
    engine: engineOptionsOf(testNamespace(o.name, { intake: o.input, partitions: o.partitions, guarantee: o.guarantee, commitIntervalMs: o.commitIntervalMs })),
    topology: passthroughTopology(o.input, o.output),
    stateDir: dir,
    instanceId: 'bench',
    logger: o.logger,
    tuning: o.tuning,
  });
  await runner.start();
  return {
    stop: async () => {
      await runner.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
