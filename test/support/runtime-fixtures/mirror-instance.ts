/**
 * A MirrorRunner as its own process, so tests can SIGKILL it mid-stream. Configured by the
 * WAL_FIXTURE env var (JSON: clusters, spec, instanceId, tuning?); prints {"event":"started"} once
 * mirroring; SIGTERM → graceful stop → exit 0.
 */
import type { ClusterEndpoints } from '../../../src/devcluster';
import { MirrorRunner, type MirrorTuning } from '../../../src/processors/mirror';
import { mirrorConfig, type MirrorSpec } from '../mirror-fixture';

interface FixtureConfig {
  clusters: ClusterEndpoints[];
  spec: MirrorSpec;
  instanceId: string;
  tuning?: MirrorTuning;
}

async function main(): Promise<void> {
  const fixture = JSON.parse(process.env.WAL_FIXTURE ?? '{}') as FixtureConfig;
  const { config, namespace } = mirrorConfig(fixture.clusters, fixture.spec);
  const runner = new MirrorRunner({ config, namespace, instanceId: fixture.instanceId, ...(fixture.tuning ? { tuning: fixture.tuning } : {}) });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${JSON.stringify({ event: 'stopping', signal })}\n`);
    runner.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await runner.start();
  process.stdout.write(`${JSON.stringify({ event: 'started' })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`fixture failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(2);
});
