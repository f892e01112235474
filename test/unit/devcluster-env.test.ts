import { clustersFromEnv, DevClusterError } from '../../src/devcluster';
import { describeClusters } from '../../src/cli/commands/dev';

describe('clusters named by the environment', () => {
  it('are used as they are, with the B variants for a second cluster', () => {
    const clusters = clustersFromEnv(['A', 'B'], {
      KAFKA_BROKERS: '10.0.0.1:9092, 10.0.0.2:9092',
      SCHEMA_REGISTRY_URL: 'http://reg-a:8081/',
      KAFKA_BROKERS_B: '10.1.0.1:9092',
      SCHEMA_REGISTRY_URL_B: 'http://reg-b:8081',
    });
    expect(clusters).toEqual([
      expect.objectContaining({ name: 'A', brokers: ['10.0.0.1:9092', '10.0.0.2:9092'], registryUrl: 'http://reg-a:8081', source: 'env' }),
      expect.objectContaining({ name: 'B', brokers: ['10.1.0.1:9092'], registryUrl: 'http://reg-b:8081', source: 'env' }),
    ]);
  });

  it('are not used when KAFKA_BROKERS is unset', () => {
    expect(clustersFromEnv(['A'], {})).toBeUndefined();
  });

  it('refuse a second cluster without its own brokers, naming the missing variable', () => {
    expect(() => clustersFromEnv(['A', 'B'], { KAFKA_BROKERS: 'a:1', SCHEMA_REGISTRY_URL: 'http://r' })).toThrow(
      new DevClusterError(
        'KAFKA_BROKERS is set but KAFKA_BROKERS_B is not: cluster B needs its own brokers (replication tests use two independent clusters)',
      ),
    );
  });

  it('refuse a cluster without a schema registry', () => {
    expect(() => clustersFromEnv(['A'], { KAFKA_BROKERS: 'a:1' })).toThrow(/SCHEMA_REGISTRY_URL is not/);
  });

  it('print as shell exports a user can paste', () => {
    const text = describeClusters(clustersFromEnv(['A', 'B'], { KAFKA_BROKERS: 'a:1', SCHEMA_REGISTRY_URL: 'http://ra', KAFKA_BROKERS_B: 'b:1', SCHEMA_REGISTRY_URL_B: 'http://rb' }) ?? []);
    expect(text.split('\n').filter((l) => l.startsWith('export'))).toEqual([
      'export KAFKA_BROKERS=a:1',
      'export SCHEMA_REGISTRY_URL=http://ra',
      'export KAFKA_BROKERS_B=b:1',
      'export SCHEMA_REGISTRY_URL_B=http://rb',
    ]);
  });
});
