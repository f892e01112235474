/**
 * A wal instance running the mutation topology (intake → fanout → appliers → tracker) as its own
 * process, so tests can SIGKILL it mid-apply. WAL_FIXTURE (JSON): { configFile, namespace, stateDir,
 * instanceId }. Prints {"event":"started"} once it joined; SIGTERM → graceful stop → exit 0.
 */
import { findNamespace, loadConfig } from '../../../src/namespaces';
import { mutationTopology } from '../../../src/mutations';
import { runInstanceFixture } from './instance-fixture';

interface FixtureConfig {
  configFile: string;
  namespace: string;
  stateDir: string;
  instanceId: string;
}

runInstanceFixture((fixture: FixtureConfig) => {
  const config = loadConfig([fixture.configFile]);
  const namespace = findNamespace(config, fixture.namespace);
  if (!namespace) throw new Error(`namespace ${fixture.namespace} is not in ${fixture.configFile}`);
  return {
    brokers: config.clusters[namespace.cluster].brokers,
    namespace,
    topology: mutationTopology(namespace, { clusters: config.clusters }),
    stateDir: fixture.stateDir,
    instanceId: fixture.instanceId,
    tuning: { maxWaitTimeMs: 200 },
  };
});
