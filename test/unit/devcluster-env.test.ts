import { clustersFromEnv, DevClusterError, targetsAreRunning, type DevTargetsRecord } from '../../src/devcluster';
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

describe('the recorded delivery targets', () => {
  // Pids of this process: alive. Only the records' shape matters here.
  const server = (dir: string) => ({ address: `127.0.0.1:${dir.length}`, port: dir.length, pid: process.pid, dir });
  const current: DevTargetsRecord = {
    postgres: { url: 'postgres://wal:wal@127.0.0.1:5/wal', port: 5, pid: process.pid, dir: '/d/postgres', version: '15' },
    redis: { url: 'redis://127.0.0.1:6', port: 6, pid: process.pid, dir: '/d/redis' },
    memcached: server('/d/memcached'),
    memcachedB: server('/d/memcached-b'),
    cassandra: { contactPoint: '127.0.0.1:9', localDataCenter: 'datacenter1', pid: process.pid, dir: '/d/cassandra', version: '5.0.6' },
  };

  it('export both regions\' memcached, B as WAL_MEMCACHED_SERVERS_B', () => {
    const exports = describeClusters([], current).split('\n').filter((l) => l.startsWith('export WAL_MEMCACHED'));
    expect(exports).toEqual(['export WAL_MEMCACHED_SERVERS=127.0.0.1:12', 'export WAL_MEMCACHED_SERVERS_B=127.0.0.1:14']);
  });

  it('count as not running when recorded before region B\'s memcached existed, so dev up starts it', () => {
    expect(targetsAreRunning(current)).toBe(true);
    const { memcachedB: _omitted, ...older } = current;
    expect(targetsAreRunning(older)).toBe(false);
    expect(describeClusters([], older)).not.toContain('WAL_MEMCACHED_SERVERS_B');
  });
});
