/**
 * A MirrorRunner as its own process, so tests can SIGKILL it mid-stream. Configured by the
 * WAL_FIXTURE env var (JSON: clusters, spec, instanceId, tuning?); prints {"event":"started"} once
 * mirroring; SIGTERM → graceful stop → exit 0.
 */
import type { ClusterEndpoints } from '../../../src/devcluster';
import { MirrorRunner, type MirrorTuning } from '../../../src/mirror';
import { mirrorConfig, type MirrorSpec } from '../mirror-fixture';
import { runFixtureProcess } from './instance-fixture';

interface FixtureConfig {
  clusters: ClusterEndpoints[];
  spec: MirrorSpec;
  instanceId: string;
  tuning?: MirrorTuning;
}

runFixtureProcess((fixture: FixtureConfig) => {
  const { config, namespace } = mirrorConfig(fixture.clusters, fixture.spec);
  return new MirrorRunner({ config, namespace, instanceId: fixture.instanceId, ...(fixture.tuning ? { tuning: fixture.tuning } : {}) });
});
