import { ConfigError, findNamespace, parseConfig, type WalConfig } from '../../src/namespaces';
import { validateWriteToLogRequest, type WriteToLogRequest } from '../../src/wire/intake';
import { buildWriteRecord } from '../../src/api/request';

/** Region A's namespace, the mirror of its intake to B, and the replica on B (the shape of topologies/cache-replication.yaml). */
function topology(options: { replica?: string; mirror?: string; origin?: string } = {}): string {
  return `
clusters:
  A: { brokers: "a:9092", schemaRegistryUrl: "http://reg-a/apis/ccompat/v7" }
  B: { brokers: "b:9092", schemaRegistryUrl: "http://reg-b/apis/ccompat/v7" }
namespaces:
  - name: cache-writes
    cluster: A
    partitions: 3
    targets: { cache: { type: memcached, servers: "a:11211" } }
    ${options.origin ?? ''}
  - name: cache-mirror
    cluster: A
    replication: { source: A, targets: [B], ${options.mirror ?? 'topics: [wal.cache-writes.intake]'}, rename: prefix }
  - name: cache-writes-b
    cluster: B
    replicaOf: cache-writes
    partitions: 3
    targets: { cache: { type: memcached, servers: "b:11211" } }
    ${options.replica ?? ''}
`;
}

function problems(text: string): string[] {
  try {
    parseConfig(text, 'cache.yaml', {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected a ConfigError, but the configuration was accepted');
}

function request(namespace: string): WriteToLogRequest {
  return {
    id: 'r1',
    namespace,
    target: null,
    payload: Buffer.alloc(0),
    contentType: null,
    headers: {},
    lifecycle: { writeTime: 1, delayMs: null, deliverAt: null },
    mutations: [{ target: 'cache', key: 'k', op: 'PUT', value: Buffer.from('v'), sequence: 1 }],
  } as unknown as WriteToLogRequest;
}

describe('a replica namespace (replicaOf)', () => {
  it('reads the mirrored copy of its origin\'s intake, named by the mirror that carries it', () => {
    const config = parseConfig(topology(), 'cache.yaml', {});
    const replica = findNamespace(config, 'cache-writes-b')!;
    expect(replica.replicaOf).toBe('cache-writes');
    expect(replica.topics.intake).toBe('A.wal.cache-writes.intake');
    // Its own topics otherwise: timers, DLQ, fan-out and completions on B.
    expect(replica.topics.dlq).toBe('wal.cache-writes-b.dlq');
    expect(replica.topics.targets.cache).toBe('wal.cache-writes-b.target.cache');
    // A pattern and identity naming work alike; an explicit intake equal to the copy is accepted.
    const byPattern = parseConfig(topology({ mirror: 'topicPattern: "wal\\\\.cache-.*"' }).replace('rename: prefix', 'rename: identity'), 'cache.yaml', {});
    expect(findNamespace(byPattern, 'cache-writes-b')!.topics.intake).toBe('wal.cache-writes.intake');
    expect(findNamespace(parseConfig(topology({ replica: 'topics: { intake: A.wal.cache-writes.intake }' }), 'cache.yaml', {}), 'cache-writes-b')!.topics.intake).toBe('A.wal.cache-writes.intake');
  });

  it('refuses what would make B apply the copy differently from A, naming the field and the origin', () => {
    expect(problems(topology().replace('partitions: 3\n    targets: { cache: { type: memcached, servers: "b', 'partitions: 6\n    targets: { cache: { type: memcached, servers: "b'))).toEqual([
      'cache.yaml: namespace "cache-writes-b": partitions must be 3 as "cache-writes", whose requests it applies (the mirror keeps each record\'s partition) (got 6)',
    ]);
    expect(problems(topology({ replica: 'delay: { defaultDelayMs: 5s }' }))).toEqual([
      'cache.yaml: namespace "cache-writes-b": delay must equal the delay of "cache-writes" ({"defaultDelayMs":0,"maxDelayMs":null}): a request is due at its write time plus its delay on both sides (got {"defaultDelayMs":5000,"maxDelayMs":null})',
    ]);
    expect(problems(topology({ replica: 'maxPayloadBytes: 1KiB' }))).toEqual([
      'cache.yaml: namespace "cache-writes-b": maxPayloadBytes must be at least 1048576 as "cache-writes", whose requests it applies, or its larger requests are dead-lettered here (got 1024)',
    ]);
    expect(problems(topology({ origin: 'defaultTarget: cache' }))).toEqual([
      'cache.yaml: namespace "cache-writes-b": defaultTarget must be "cache" as "cache-writes", whose requests it applies (got nothing)',
    ]);
    expect(problems(topology().replace('targets: { cache: { type: memcached, servers: "b:11211" } }', 'targets: { other: { type: memcached, servers: "b:11211" } }'))).toEqual([
      'cache.yaml: namespace "cache-writes-b": targets lacks target "cache" of "cache-writes": requests naming it would be dead-lettered here',
    ]);
    expect(problems(topology({ replica: 'topics: { intake: mine }' }))).toEqual([
      'cache.yaml: namespace "cache-writes-b": topics.intake must be the mirrored copy of "cache-writes"\'s intake, "A.wal.cache-writes.intake", or be left out (got "mine")',
    ]);
  });

  it('refuses an origin no mirror carries to the replica\'s cluster, saying what to add', () => {
    expect(problems(topology({ mirror: 'topics: [other]' }))).toEqual([
      'cache.yaml: namespace "cache-writes-b": replicaOf no namespace mirrors "cache-writes"\'s intake "wal.cache-writes.intake" from cluster "A" to cluster "B": add one with replication: { source: A, targets: [B], topics: [wal.cache-writes.intake] }',
    ]);
    expect(problems(topology().replace('replicaOf: cache-writes', 'replicaOf: nope'))).toEqual([
      'cache.yaml: namespace "cache-writes-b": replicaOf names namespace "nope", which is not defined (defined: "cache-writes", "cache-mirror", "cache-writes-b")',
    ]);
    expect(problems(topology().replace('replicaOf: cache-writes', 'replicaOf: cache-mirror'))).toEqual([
      'cache.yaml: namespace "cache-writes-b": replicaOf names "cache-mirror", a mirror namespace: name the namespace whose intake it mirrors',
    ]);
    expect(problems(topology({ mirror: 'topics: [wal.cache-writes.intake], schemas: bytes' }))).toEqual([
      'cache.yaml: namespace "cache-writes-b": replicaOf reads what namespace "cache-mirror" mirrors with replication.schemas bytes between two schema registries: the copies\' schema ids mean nothing on cluster "B" (use schemas: copy)',
    ]);
  });

  it('takes the origin\'s requests off its intake, and refuses writes of its own', () => {
    const config: WalConfig = parseConfig(topology(), 'cache.yaml', {});
    const replica = findNamespace(config, 'cache-writes-b')!;
    expect(validateWriteToLogRequest(request('cache-writes'), replica)).toEqual([]);
    expect(validateWriteToLogRequest(request('orders'), replica).map((i) => i.message)).toEqual([
      "'orders' is not namespace 'cache-writes' (or its replica 'cache-writes-b') of this intake topic",
    ]);
    const built = buildWriteRecord({ namespace: 'cache-writes-b', mutations: [{ target: 'cache', key: 'k', op: 'DELETE', sequence: 1 }] }, config, 1, () => 'id-1');
    expect(built.ok ? 'written' : built.result).toMatchObject({
      durable: 'false',
      reason: 'invalid-request',
      message: "nothing was written: namespace: 'cache-writes-b' applies the requests of 'cache-writes' that the mirror brings to its cluster: write to 'cache-writes'",
    });
    expect(buildWriteRecord({ namespace: 'cache-writes', mutations: [{ target: 'cache', key: 'k', op: 'DELETE', sequence: 1 }] }, config, 1, () => 'id-2').ok).toBe(true);
  });
});
