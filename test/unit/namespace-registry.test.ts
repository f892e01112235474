import { parseConfig } from '../../src/namespaces';
import { changeRefusals, currentKey, encodeEntry, RegistryView, resolveEntries, versionKey, type RegistryEntry } from '../../src/registry';
import { clusterDocuments, rawNamespaces } from '../../src/registry/resolve';
import { registryAlias } from '../../src/cli/commands/namespace';

const entry = (name: string, version: number, extra: Partial<RegistryEntry> = {}): RegistryEntry => ({
  name,
  version,
  document: { name, partitions: version },
  appliedAt: '2026-12-03T10:00:00.000Z',
  appliedBy: 'ops@host',
  source: 'orders.yaml',
  ...extra,
});
const record = (key: string, value: RegistryEntry | null) => ({ key: Buffer.from(key), value: value && encodeEntry(value) });

describe('registry view', () => {
  it('folds current and version keys: the latest entry per namespace, every version in order, deletes kept in history', () => {
    const view = new RegistryView();
    view.apply(record(versionKey('orders', 1), entry('orders', 1)));
    view.apply(record(currentKey('orders'), entry('orders', 1)));
    view.apply(record(versionKey('orders', 2), entry('orders', 2)));
    view.apply(record(currentKey('orders'), entry('orders', 2)));
    expect(view.get('orders')?.version).toBe(2);
    expect(view.history('orders').map((e) => e.version)).toEqual([1, 2]);

    const deleted = entry('orders', 3, { deleted: true, document: undefined });
    view.apply(record(versionKey('orders', 3), deleted));
    view.apply(record(currentKey('orders'), null));
    expect(view.get('orders')).toBeUndefined();
    expect(view.history('orders').map((e) => [e.version, e.deleted ?? false])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    // Re-created after a delete: the version goes on from the history, never back to 1.
    expect(view.lastVersion('orders')).toBe(3);
  });

  it('skips records that are not registry entries instead of failing', () => {
    const view = new RegistryView();
    view.apply({ key: Buffer.from('orders'), value: Buffer.from('not json') });
    view.apply({ key: null, value: Buffer.from('{}') });
    expect(view.entries().size).toBe(0);
  });

  it('orders version keys numerically on the topic (zero-padded)', () => {
    expect(versionKey('a', 2) < versionKey('a', 10)).toBe(true);
  });
});

const clusters = `
clusters:
  primary: { brokers: 127.0.0.1:9092, schemaRegistryUrl: http://127.0.0.1:8081/apis/ccompat/v7 }
  other: { brokers: 127.0.0.1:9093, schemaRegistryUrl: http://127.0.0.1:8082/apis/ccompat/v7 }
`;

describe('registry changes', () => {
  const ns = (text: string) => parseConfig(`${clusters}\nnamespaces:\n${text}`, 'orders.yaml').namespaces[0];

  it('refuses shrinking partitions, moving cluster and turning a queue into a mirror; allows the rest', () => {
    const before = ns('  - { name: orders, partitions: 6 }');
    expect(changeRefusals(before, ns('  - { name: orders, partitions: 12, maxRetries: 9, shard: blue }'))).toEqual([]);
    expect(changeRefusals(before, ns('  - { name: orders, partitions: 3 }'))).toEqual([expect.stringContaining('partitions: 6 → 3 would shrink its topics')]);
    expect(changeRefusals(before, ns('  - { name: orders, partitions: 6, cluster: other }'))).toEqual([expect.stringContaining('cluster: "primary" → "other"')]);
    expect(changeRefusals(before, ns('  - { name: orders, partitions: 6, replication: { source: primary, targets: [other], topics: [t] } }'))).toEqual([expect.stringContaining('from a queue into a mirror')]);
  });

  it('resolves each entry on its own: one that names an unknown cluster is reported, the others run', () => {
    const docs = clusterDocuments([{ file: 'clusters.yaml', text: `${clusters}\nnamespaces:\n  - { name: from-file }` }]);
    const { config, problems } = resolveEntries(
      docs,
      [
        { ...entry('good', 1), document: { name: 'good', partitions: 2, shard: 'blue' } },
        { ...entry('bad', 4), document: { name: 'bad', cluster: 'nowhere' } },
      ],
      'wal.namespaces',
    );
    expect(config.namespaces.map((n) => [n.name, n.shard])).toEqual([['good', 'blue']]);
    expect(problems.map((p) => [p.name, p.error.issues])).toEqual([['bad', [expect.stringMatching(/^registry wal\.namespaces: bad v4: namespace "bad": cluster names cluster "nowhere", which is not defined/)]]]);
  });

  it('keeps ${ENV} references as written in the raw namespaces it stores', () => {
    const [raw] = rawNamespaces([{ file: 'n.yaml', text: 'namespaces:\n  - name: hook\n    targets:\n      h: { type: http, url: "${HOOK_URL}" }\n' }]);
    expect(raw.document).toEqual({ name: 'hook', targets: { h: { type: 'http', url: '${HOOK_URL}' } } });
  });
});

describe('registry cluster', () => {
  const config = parseConfig(clusters, 'clusters.yaml');
  it('is --registry, else $WAL_REGISTRY_CLUSTER, else the only cluster; an unknown alias names the defined ones', () => {
    expect(registryAlias(config, 'other', undefined)).toBe('other');
    expect(registryAlias(config, undefined, 'primary')).toBe('primary');
    expect(() => registryAlias(config, undefined, undefined)).toThrow(/Give --registry <alias> or \$WAL_REGISTRY_CLUSTER .*primary, other/);
    expect(() => registryAlias(config, 'nope', undefined)).toThrow(/--registry "nope": no such cluster .*defined: primary, other/);
    expect(registryAlias(parseConfig(clusters.split('\n').slice(0, 3).join('\n'), 'one.yaml'), undefined, undefined)).toBe('primary');
  });
});
