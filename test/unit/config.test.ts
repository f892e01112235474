import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNamespace, loadConfig, parseConfig, parseDuration, parseSize, saveConfig, type WalConfig } from '../../src/namespaces';
import { configErrorOf, PRIMARY_CLUSTER } from '../support/config';

const CLUSTER = PRIMARY_CLUSTER;

/** A file with the primary cluster and one namespace whose body is `body` (indented YAML lines). */
function withNamespace(body: string, name = 'orders'): string {
  const indented = body
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
  return `${CLUSTER}\nnamespaces:\n  - name: ${name}\n${body.trim() ? `${indented}\n` : ''}`;
}

const errorOf = configErrorOf;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'wal-config-'));
}

describe('defaults', () => {
  const ns = parseConfig(withNamespace(''), 'x.yaml', {}).namespaces[0];

  it('names topics wal.<ns>.<role>', () => {
    expect(ns.topics).toEqual({
      intake: 'wal.orders.intake',
      dlq: 'wal.orders.dlq',
      timersChangelog: 'wal.orders.timers-changelog',
      completions: 'wal.orders.completions',
      targets: {},
    });
  });

  it('fills every tunable with its documented default', () => {
    expect(ns).toMatchObject({
      cluster: 'primary',
      partitions: 3,
      replicationFactor: 1,
      backoff: { initialMs: 1000, maxMs: 60_000, multiplier: 2, jitter: 0.2 },
      maxRetries: 5,
      maxPayloadBytes: 1024 * 1024,
      chunking: { chunkSize: 100, maxChunkBytes: 512 * 1024 },
      runtime: { commitIntervalMs: 1000, punctuationIntervalMs: 250, partitionConcurrency: 4 },
      processingGuarantee: 'at-least-once',
      delay: { defaultDelayMs: 0, maxDelayMs: null },
      dlq: { enabled: true },
    });
    expect(ns.defaultTarget).toBeUndefined();
    expect(ns.replication).toBeUndefined();
  });

  it('gives every target a fan-out topic, and kafka targets the namespace cluster and partitions', () => {
    const cfg = parseConfig(
      withNamespace(`
partitions: 4
targets:
  out: {type: kafka, topic: orders.out}
  hook: {type: http, url: "http://127.0.0.1:1/x"}
topics:
  intake: custom.intake
  targets: {hook: custom.hook}
`),
      'x.yaml',
      {},
    );
    const orders = findNamespace(cfg, 'orders')!;
    expect(orders.topics.intake).toBe('custom.intake');
    expect(orders.topics.dlq).toBe('wal.orders.dlq');
    expect(orders.topics.targets).toEqual({ out: 'wal.orders.target.out', hook: 'custom.hook' });
    expect(orders.targets.out).toEqual({ type: 'kafka', topic: 'orders.out', cluster: 'primary', partitions: 4 });
    expect(orders.targets.hook).toEqual({ type: 'http', url: 'http://127.0.0.1:1/x', method: 'POST', headers: {}, timeoutMs: 10_000 });
    expect(findNamespace(cfg, 'missing')).toBeUndefined();
  });
});

describe('human durations and sizes', () => {
  it('accepts "250ms", "30s", "5m", "1h30m", "3d", sizes like "1MiB"/"64KB", and plain numbers', () => {
    const ns = parseConfig(
      withNamespace(`
delay: {defaultDelayMs: 30s, maxDelayMs: 3d}
backoff: {initialMs: 250ms, maxMs: 1h30m, multiplier: 1.5, jitter: 0}
runtime: {commitIntervalMs: 5m, punctuationIntervalMs: 100}
maxPayloadBytes: 2MiB
chunking: {chunkSize: 10, maxChunkBytes: 64KB}
`),
      'x.yaml',
      {},
    ).namespaces[0];
    expect(ns.delay).toEqual({ defaultDelayMs: 30_000, maxDelayMs: 3 * 86_400_000 });
    expect(ns.backoff).toEqual({ initialMs: 250, maxMs: 5_400_000, multiplier: 1.5, jitter: 0 });
    expect(ns.runtime).toEqual({ commitIntervalMs: 300_000, punctuationIntervalMs: 100, partitionConcurrency: 4 });
    expect(ns.maxPayloadBytes).toBe(2 * 1024 * 1024);
    expect(ns.chunking.maxChunkBytes).toBe(64_000);
  });

  it('rejects an unreadable duration or size naming the field and the value', () => {
    const error = errorOf(withNamespace('backoff: {initialMs: 5 parsecs}\nmaxPayloadBytes: 1 lightyear'));
    expect(error.issues).toHaveLength(2);
    expect(error.issues).toEqual(expect.arrayContaining([
      expect.stringMatching(/^topologies\/x\.yaml: namespace "orders": backoff\.initialMs must be a duration .*\(got "5 parsecs"\)$/),
      expect.stringMatching(/^topologies\/x\.yaml: namespace "orders": maxPayloadBytes must be a size .*\(got "1 lightyear"\)$/),
    ]));
  });
});

describe('environment interpolation', () => {
  const text = `
clusters:
  primary:
    brokers: \${KAFKA_BROKERS:-127.0.0.1:9092}
    schemaRegistryUrl: \${REGISTRY}
namespaces:
  - name: orders
    partitions: \${PARTITIONS:-3}
    targets:
      hook:
        type: http
        url: http://127.0.0.1/hook
        headers: {authorization: "Bearer \${TOKEN}", literal: "$\${NOT_A_VAR}"}
`;

  it('substitutes ${VAR}, uses the default of ${VAR:-default} when unset or empty, and keeps $${ literal', () => {
    const cfg = parseConfig(text, 'env.yaml', { REGISTRY: 'http://reg:8081', TOKEN: 't0k', KAFKA_BROKERS: '' });
    expect(cfg.clusters.primary.brokers).toEqual(['127.0.0.1:9092']);
    expect(cfg.clusters.primary.schemaRegistryUrl).toBe('http://reg:8081');
    expect(cfg.namespaces[0].partitions).toBe(3);
    const hook = cfg.namespaces[0].targets.hook;
    expect(hook?.type === 'http' && hook.headers).toEqual({ authorization: 'Bearer t0k', literal: '${NOT_A_VAR}' });
  });

  it('splits a comma-separated broker list from the environment and converts numeric strings', () => {
    const cfg = parseConfig(text, 'env.yaml', { REGISTRY: 'http://reg:8081', TOKEN: 'x', KAFKA_BROKERS: 'a:1, b:2,c:3', PARTITIONS: '12' });
    expect(cfg.clusters.primary.brokers).toEqual(['a:1', 'b:2', 'c:3']);
    expect(cfg.namespaces[0].partitions).toBe(12);
  });

  it('reports each unset variable without a default, with its field', () => {
    const error = errorOf(text, 'env.yaml', {});
    expect(error.issues).toEqual([
      expect.stringMatching(/^env\.yaml: cluster "primary": schemaRegistryUrl uses environment variable REGISTRY, which is not set/),
      expect.stringMatching(/^env\.yaml: namespace "orders": targets\.hook\.headers\.authorization uses environment variable TOKEN, which is not set/),
    ]);
  });
});

describe('invalid configurations name file, namespace and field', () => {
  const cases: [string, string, string][] = [
    ['a multiplier below 1', 'backoff: {multiplier: 0.5}', 'namespace "orders": backoff.multiplier must be ≥ 1 (got 0.5)'],
    ['jitter above 1', 'backoff: {jitter: 1.5}', 'namespace "orders": backoff.jitter must be between 0 and 1 (got 1.5)'],
    ['backoff max below initial', 'backoff: {initialMs: 10s, maxMs: 1s}', 'namespace "orders": backoff.maxMs must be ≥ backoff.initialMs (10000) (got 1000)'],
    ['max delay below default delay', 'delay: {defaultDelayMs: 1m, maxDelayMs: 1s}', 'namespace "orders": delay.maxDelayMs must be ≥ delay.defaultDelayMs (60000) (got 1000)'],
    ['zero partitions', 'partitions: 0', 'namespace "orders": partitions must be ≥ 1 (got 0)'],
    ['fractional retries', 'maxRetries: 2.5', 'namespace "orders": maxRetries must be a whole number (got 2.5)'],
    ['an unknown field (typo)', 'maxRetry: 3', 'namespace "orders": maxRetry is not a known field (did you mean "maxRetries"?)'],
    ['an unknown nested field', 'backoff: {inital: 5}', 'namespace "orders": backoff.inital is not a known field (did you mean "initialMs"?)'],
    ['an unknown target field', 'targets: {t: {type: redis, url: "redis://h", ttl: 5}}', 'namespace "orders": targets.t.ttl is not a known field (did you mean "ttlSeconds"?)'],
    ['a field far from any known one', 'delay: {whenever: 1}', 'namespace "orders": delay.whenever is not a known field (known: defaultDelayMs, maxDelayMs)'],
    ['an unknown guarantee', 'processingGuarantee: exactly-twice', 'namespace "orders": processingGuarantee must be one of "at-least-once", "exactly-once" (got "exactly-twice")'],
    ['an unknown target type', 'targets: {t: {type: ftp}}', 'namespace "orders": targets.t.type must be one of "kafka", "http", "postgres", "redis", "memcached", "cassandra" (got "ftp")'],
    ['a kafka target without topic', 'targets: {t: {type: kafka}}', 'namespace "orders": targets.t.topic is required'],
    ['a bad http url', 'targets: {t: {type: http, url: "not a url"}}', 'namespace "orders": targets.t.url must be a URL (http:// or https://…) (got "not a url")'],
    ['a bad table name', 'targets: {t: {type: postgres, connectionString: "postgres://h/db", table: "drop table;"}}', 'namespace "orders": targets.t.table must be an SQL identifier'],
    ['a missing default target', 'defaultTarget: nowhere', 'namespace "orders": defaultTarget names target "nowhere", which is not defined (defined: none)'],
    ['an unknown namespace cluster', 'cluster: mars', 'namespace "orders": cluster names cluster "mars", which is not defined (defined: "primary")'],
    ['an unknown kafka target cluster', 'targets: {t: {type: kafka, topic: x, cluster: mars}}', 'namespace "orders": targets.t.cluster names cluster "mars", which is not defined'],
    ['a topic override for no target', 'topics: {targets: {ghost: x}}', 'namespace "orders": topics.targets.ghost names target "ghost", which is not defined'],
    ['an invalid topic name', 'topics: {intake: "has space"}', 'namespace "orders": topics.intake must match ^[a-zA-Z0-9._-]+$ (got "has space")'],
    ['two roles on one topic', 'topics: {dlq: wal.orders.intake}', 'namespace "orders": topics.dlq topic "wal.orders.intake" is already used by namespace "orders" (topics.intake)'],
    ['replication to an unknown cluster', 'replication: {targets: [mars], topics: [a]}', 'namespace "orders": replication.targets[0] names cluster "mars", which is not defined'],
    ['replication onto its source', 'replication: {targets: [primary], topics: [a]}', 'namespace "orders": replication.targets[0] must differ from replication.source (got "primary")'],
    ['replication of nothing', 'replication: {source: primary, targets: [primary]}', 'namespace "orders": replication must name topics or a topicPattern'],
    ['a regex that does not compile', 'replication: {targets: [primary], topicPattern: "orders.(["}', 'namespace "orders": replication.topicPattern is not a valid regular expression'],
  ];

  it.each(cases)('%s', (_title, body, expected) => {
    const error = errorOf(withNamespace(body));
    expect(error.retriable).toBe(false);
    expect(error.name).toBe('ConfigError');
    expect(error.issues.some((issue) => issue.startsWith(`topologies/x.yaml: ${expected}`))).toBe(true);
    expect(error.message).toContain(expected);
  });

  it('names the namespace name itself when it is invalid', () => {
    expect(errorOf(withNamespace('', '"my orders"')).issues).toEqual([
      'topologies/x.yaml: namespace "my orders": name must match ^[a-zA-Z0-9._-]+$ (got "my orders")',
    ]);
  });

  it('reports cluster fields by alias', () => {
    const error = errorOf('clusters:\n  A: {brokers: "nohost", schemaRegistryUrl: "ftp://x", tls: true}\n');
    expect(error.issues).toEqual([
      'topologies/x.yaml: cluster "A": brokers[0] each broker must be "host:port" (got "nohost")',
      'topologies/x.yaml: cluster "A": schemaRegistryUrl must be a URL (http:// or https://…) (got "ftp://x")',
      'topologies/x.yaml: cluster "A": tls is not a known field (known: name, brokers, schemaRegistryUrl, schemaRegistry, clientId, ssl, sasl)',
    ]);
  });

  it('collects every issue of a load into one error, one line each', () => {
    const text = `${CLUSTER}
namespaces:
  - name: a
    partitions: -1
  - name: b
    backoff: {multiplier: 0}
  - name: c
    defaultTarget: none
`;
    const error = errorOf(text);
    expect(error.issues).toHaveLength(3);
    expect(error.message.split('\n')).toEqual([
      'invalid configuration (3 issues):',
      '  - topologies/x.yaml: namespace "a": partitions must be ≥ 1 (got -1)',
      '  - topologies/x.yaml: namespace "b": backoff.multiplier must be ≥ 1 (got 0)',
      '  - topologies/x.yaml: namespace "c": defaultTarget names target "none", which is not defined (defined: none)',
    ]);
  });

  it('reports YAML syntax errors with their position, and unknown top-level fields', () => {
    expect(errorOf('namespaces: [\n').issues[0]).toMatch(/^topologies\/x\.yaml: .*line \d+/);
    expect(errorOf('namespace: []\n').issues).toEqual(['topologies/x.yaml: namespace is not a known field (did you mean "namespaces"?)']);
  });
});

describe('several files', () => {
  it('merges clusters by alias and namespaces from every file, in order', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'clusters.yaml'), CLUSTER);
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ namespaces: [{ name: 'a' }] }));
    writeFileSync(join(dir, 'b.yaml'), `${CLUSTER}\nnamespaces:\n  - name: b\n`);
    const cfg = loadConfig([join(dir, 'clusters.yaml'), join(dir, 'a.json'), join(dir, 'b.yaml')], {});
    expect(Object.keys(cfg.clusters)).toEqual(['primary']);
    expect(cfg.namespaces.map((n) => n.name)).toEqual(['a', 'b']);
    expect(cfg.sourceFiles).toEqual([join(dir, 'clusters.yaml'), join(dir, 'a.json'), join(dir, 'b.yaml')]);
    // A directory stands for its config files in name order.
    expect(loadConfig([dir], {}).namespaces.map((n) => n.name)).toEqual(['a', 'b']);
  });

  it('rejects a namespace defined in two files, naming both', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'one.yaml'), withNamespace(''));
    writeFileSync(join(dir, 'two.yaml'), withNamespace(''));
    expect(() => loadConfig([join(dir, 'one.yaml'), join(dir, 'two.yaml')], {})).toThrow(
      `${join(dir, 'two.yaml')}: namespace "orders" is defined more than once (also in ${join(dir, 'one.yaml')})`,
    );
  });

  it('rejects one cluster alias defined differently in two files', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'one.yaml'), CLUSTER);
    writeFileSync(join(dir, 'two.yaml'), CLUSTER.replace('9092', '9999'));
    expect(() => loadConfig([join(dir, 'one.yaml'), join(dir, 'two.yaml')], {})).toThrow(
      `${join(dir, 'two.yaml')}: cluster "primary" is defined differently in ${join(dir, 'one.yaml')}`,
    );
  });

  it('reports a missing file as a ConfigError naming it', () => {
    expect(() => loadConfig(['/nonexistent/wal.yaml'], {})).toThrow('/nonexistent/wal.yaml: cannot be read (ENOENT)');
  });
});

describe('saveConfig', () => {
  const rich = (): WalConfig =>
    loadConfig(['delayed-queue.yaml', 'cross-region-replication.yaml', 'multi-table-mutation.yaml'].map((f) => join(__dirname, '../../topologies', f)), {
      KAFKA_BROKERS: 'k1:9092,k2:9092',
    });

  it.each(['yaml', 'json'])('round-trips through loadConfig to an equal WalConfig (%s)', (extension) => {
    const original = rich();
    // A resolved string holding "${" must come back literally, not be interpolated again.
    const withDollar: WalConfig = {
      ...original,
      namespaces: original.namespaces.map((ns) =>
        ns.name === 'delayed-notifications'
          ? { ...ns, targets: { ...ns.targets, raw: { type: 'http', url: 'http://h/x', method: 'PUT', headers: { x: '${HOME}' }, timeoutMs: 1 } } }
          : ns,
      ),
    };
    const file = join(tempDir(), `saved.${extension}`);
    saveConfig(withDollar, file);
    const loaded = loadConfig([file], { HOME: '/root' });
    // Topics of the added target are resolved on load; everything else must match exactly.
    const { sourceFiles, ...rest } = loaded;
    expect(sourceFiles).toEqual([file]);
    const expected = JSON.parse(JSON.stringify({ ...withDollar, sourceFiles: undefined }));
    delete expected.sourceFiles;
    expected.namespaces[0].topics.targets.raw = 'wal.delayed-notifications.target.raw';
    expect(rest).toEqual(expected);
  });

  it('writes YAML or JSON by extension', () => {
    const dir = tempDir();
    saveConfig(rich(), join(dir, 'c.json'));
    saveConfig(rich(), join(dir, 'c.yml'));
    expect(() => JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8'))).not.toThrow();
    expect(readFileSync(join(dir, 'c.yml'), 'utf8')).toMatch(/^clusters:\n/);
  });
});

describe('parseDuration and parseSize', () => {
  it.each([
    [250, 250],
    ['250', 250],
    ['250ms', 250],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['1h 30m', 5_400_000],
    ['3d', 259_200_000],
    ['1w', 604_800_000],
    ['5 parsecs', undefined],
    ['s', undefined],
    ['', undefined],
    [true, undefined],
  ])('duration %p → %p', (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it.each([
    [1024, 1024],
    ['1MiB', 1_048_576],
    ['512 KiB', 524_288],
    ['1MB', 1_000_000],
    ['2gib', 2 * 1024 ** 3],
    ['10B', 10],
    ['1 lightyear', undefined],
  ])('size %p → %p', (input, expected) => {
    expect(parseSize(input)).toBe(expected);
  });
});
