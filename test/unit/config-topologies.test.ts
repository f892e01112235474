import { basename, join } from 'node:path';
import { findNamespace, loadConfig } from '../../src/namespaces';
import { planTopics } from '../../src/namespaces/topic-plan';

/** The sample topologies in topologies/ must load as shipped, with or without the dev-cluster env set. */
const TOPOLOGIES = join(__dirname, '../../topologies');

describe('sample topologies', () => {
  const config = loadConfig([TOPOLOGIES], {});

  it('loads all four samples from the directory, with env defaults for every endpoint', () => {
    expect(config.sourceFiles.map((f) => basename(f)).sort()).toEqual([
      'cache-replication.yaml',
      'cross-region-replication.yaml',
      'delayed-queue-sqs.yaml',
      'delayed-queue.yaml',
      'multi-table-mutation.yaml',
    ]);
    expect(config.clusters.primary).toEqual({
      name: 'primary',
      brokers: ['127.0.0.1:9092'],
      schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
    });
    expect(config.clusters.B.brokers).toEqual(['127.0.0.1:9093']);
  });

  it('points at the running clusters through KAFKA_BROKERS, KAFKA_BROKERS_B and SCHEMA_REGISTRY_URL', () => {
    const live = loadConfig([TOPOLOGIES], {
      KAFKA_BROKERS: '10.0.0.1:1,10.0.0.2:2',
      KAFKA_BROKERS_B: '10.0.0.3:3',
      SCHEMA_REGISTRY_URL: 'http://reg:1/apis/ccompat/v7',
    });
    expect(live.clusters.primary.brokers).toEqual(['10.0.0.1:1', '10.0.0.2:2']);
    expect(live.clusters.A.brokers).toEqual(['10.0.0.1:1', '10.0.0.2:2']);
    expect(live.clusters.B.brokers).toEqual(['10.0.0.3:3']);
    expect(live.clusters.primary.schemaRegistryUrl).toBe('http://reg:1/apis/ccompat/v7');
  });

  it('delayed-queue: delays, backoff, DLQ, a Kafka target and an HTTP target', () => {
    const ns = findNamespace(config, 'delayed-notifications')!;
    expect(ns.delay).toEqual({ defaultDelayMs: 30_000, maxDelayMs: 7 * 86_400_000 });
    expect(ns.backoff).toEqual({ initialMs: 1000, maxMs: 300_000, multiplier: 2, jitter: 0.2 });
    expect(ns.maxRetries).toBe(8);
    expect(ns.dlq).toEqual({ enabled: true, retentionMs: 30 * 86_400_000, onDisabled: 'retain' });
    expect(ns.targets.events).toEqual({ type: 'kafka', topic: 'notifications.delivered', cluster: 'primary', partitions: 6 });
    expect(ns.targets.webhook).toMatchObject({ type: 'http', method: 'POST', timeoutMs: 5000 });
    expect(ns.defaultTarget).toBe('events');
    expect(ns.topics.intake).toBe('wal.delayed-notifications.intake');
  });

  it('delayed-queue-sqs: the same delays, backoff and targets, waiting in an SQS queue of WAL_SQS_ENDPOINT (ElasticMQ by default)', () => {
    const ns = findNamespace(config, 'delayed-reminders')!;
    expect(ns.queue).toEqual({
      type: 'sqs',
      queueName: 'wal-delayed-reminders',
      dlqQueueName: 'wal-delayed-reminders-dlq',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9324',
      receivers: 4,
      visibilityTimeoutMs: 60_000,
      maxSqsDelaySeconds: 900,
      waitTimeSeconds: 20,
    });
    expect(ns.delay).toEqual({ defaultDelayMs: 30_000, maxDelayMs: 7 * 86_400_000 });
    expect(ns.backoff).toEqual({ initialMs: 1000, maxMs: 300_000, multiplier: 2, jitter: 0.2 });
    expect(ns.targets.events).toEqual({ type: 'kafka', topic: 'reminders.delivered', cluster: 'primary', partitions: ns.partitions });
    expect(ns.defaultTarget).toBe('events');
    const live = findNamespace(loadConfig([TOPOLOGIES], { WAL_SQS_ENDPOINT: 'http://elasticmq:9324', AWS_REGION: 'eu-west-1' }), 'delayed-reminders')!;
    expect(live.queue).toMatchObject({ endpoint: 'http://elasticmq:9324', region: 'eu-west-1' });
  });

  it('cross-region-replication: A → B by pattern, prefixed, with translated groups', () => {
    const ns = findNamespace(config, 'orders-mirror')!;
    expect(ns.replication).toEqual({
      source: 'A',
      targets: ['B'],
      topics: [],
      topicPattern: '^orders\\..*',
      rename: 'prefix',
      schemas: 'copy',
      syncGroupOffsets: false,
      groups: ['orders-billing', 'orders-shipping'],
      checkpointIntervalMs: 5000,
    });
    expect(new RegExp(ns.replication!.topicPattern!).test('orders.created')).toBe(true);
  });

  it('cache-replication: A\'s cache writes into A\'s memcached, mirrored to B and applied there into B\'s', () => {
    const live = loadConfig([TOPOLOGIES], { WAL_MEMCACHED_SERVERS: '127.0.0.1:1', WAL_MEMCACHED_SERVERS_B: '127.0.0.1:2,127.0.0.1:3' });
    const [origin, mirror, replica] = ['cache-writes', 'cache-writes-mirror', 'cache-writes-b'].map((name) => findNamespace(live, name)!);
    expect(origin).toMatchObject({ cluster: 'A', partitions: 3, topics: { intake: 'wal.cache-writes.intake' } });
    expect(origin.targets.cache).toMatchObject({ type: 'memcached', servers: ['127.0.0.1:1'], keyPrefix: 'cache:' });
    expect(mirror.replication).toMatchObject({ source: 'A', targets: ['B'], topics: ['wal.cache-writes.intake'], rename: 'prefix', schemas: 'copy' });
    expect(replica).toMatchObject({ cluster: 'B', replicaOf: 'cache-writes', partitions: 3, topics: { intake: 'A.wal.cache-writes.intake' } });
    expect(replica.targets.cache).toMatchObject({ type: 'memcached', servers: ['127.0.0.1:2', '127.0.0.1:3'], keyPrefix: 'cache:' });
    // --create-topics plans the mirrored intake on B exactly as the mirror creates it: same partitions, delete policy.
    expect(planTopics(replica).find((s) => s.role === 'intake')).toMatchObject({ cluster: 'B', topic: 'A.wal.cache-writes.intake', partitions: 3, configs: { 'cleanup.policy': 'delete' } });
    expect(planTopics(origin).find((s) => s.role === 'intake')!.configs).toEqual(planTopics(replica).find((s) => s.role === 'intake')!.configs);
  });

  it('multi-table-mutation: two Postgres tables and Redis, chunked', () => {
    const ns = findNamespace(config, 'account-mutations')!;
    expect(Object.keys(ns.targets)).toEqual(['accounts', 'balances', 'cache']);
    expect(ns.targets.accounts).toEqual({
      type: 'postgres',
      connectionString: 'postgres://wal:wal@127.0.0.1:5432/wal',
      table: 'accounts',
      keyColumn: 'id',
      valueColumn: 'doc',
      sequenceColumn: 'version',
    });
    expect(ns.targets.cache).toEqual({ type: 'redis', url: 'redis://127.0.0.1:6379/0', keyPrefix: 'account:', ttlSeconds: 3600 });
    expect(ns.chunking).toEqual({ chunkSize: 50, maxChunkBytes: 256 * 1024 });
    expect(ns.topics.targets).toEqual({
      accounts: 'wal.account-mutations.target.accounts',
      balances: 'wal.account-mutations.target.balances',
      cache: 'wal.account-mutations.target.cache',
    });
  });

  it('plans a compacted timers changelog with the intake partition count and a long-lived DLQ', () => {
    const specs = planTopics(findNamespace(config, 'delayed-notifications')!);
    const byRole = (role: string) => specs.filter((s) => s.role === role);
    expect(byRole('intake')[0]).toMatchObject({ topic: 'wal.delayed-notifications.intake', partitions: 6 });
    expect(byRole('timers-changelog')[0]).toMatchObject({ partitions: 6, configs: expect.objectContaining({ 'cleanup.policy': 'compact' }) });
    expect(byRole('dlq')[0].configs['retention.ms']).toBe(String(30 * 86_400_000));
    expect(byRole('dlq-marks')).toEqual([expect.objectContaining({ topic: `${byRole('dlq')[0].topic}.marks`, partitions: 1, configs: expect.objectContaining({ 'cleanup.policy': 'compact' }) })]);
    expect(byRole('fanout').map((s) => s.topic)).toEqual(['wal.delayed-notifications.target.events', 'wal.delayed-notifications.target.webhook']);
    expect(byRole('delivery')).toEqual([expect.objectContaining({ topic: 'notifications.delivered', cluster: 'primary', partitions: 6 })]);
  });

  it('plans no intake, timers, completions, fan-out or DLQ topic for an SQS namespace: only the namespace state and its Kafka target', () => {
    const specs = planTopics(findNamespace(config, 'delayed-reminders')!);
    expect(specs.map((s) => [s.role, s.topic])).toEqual([
      ['namespace-state', 'wal.namespace-state'],
      ['delivery', 'reminders.delivered'],
    ]);
  });
});
