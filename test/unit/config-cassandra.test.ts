import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseConfig, saveConfig } from '../../src/namespaces';
import { configErrorOf, PRIMARY_CLUSTER, tempDirsFor } from '../support/config';

const CLUSTER = PRIMARY_CLUSTER;

/** A file whose one namespace has one cassandra target `rows` with these fields (YAML flow mapping body). */
function withRows(fields: string): string {
  return `${CLUSTER}\nnamespaces:\n  - name: orders\n    targets:\n      rows: { type: cassandra, ${fields} }\n`;
}
const BASE = 'contactPoints: "127.0.0.1:9042", localDataCenter: datacenter1, keyspace: wal, table: items';

const tempDir = tempDirsFor('wal-config-cass-');

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}, file = 'topologies/x.yaml'): string[] {
  return configErrorOf(text, file, env).issues;
}

describe('cassandra target config', () => {
  it('fills the defaults: key/value columns, LOCAL_QUORUM, SimpleStrategy RF 1, 10 s requests, 5 s connects, no auth or TLS', () => {
    const ns = parseConfig(withRows(BASE), 'x.yaml', {}).namespaces[0];
    expect(ns.targets.rows).toEqual({
      type: 'cassandra',
      contactPoints: ['127.0.0.1:9042'],
      localDataCenter: 'datacenter1',
      keyspace: 'wal',
      table: 'items',
      keyColumn: 'key',
      valueColumn: 'value',
      consistency: 'LOCAL_QUORUM',
      replication: { class: 'SimpleStrategy', replicationFactor: 1 },
      timeoutMs: 10_000,
      connectTimeoutMs: 5000,
    });
  });

  it('takes contact points as a list or a comma-separated string (as WAL_CASSANDRA_CONTACT_POINTS gives it), and NetworkTopologyStrategy', () => {
    const text = withRows(
      'contactPoints: "${WAL_CASSANDRA_CONTACT_POINTS}", localDataCenter: dc1, keyspace: k, table: t, consistency: ONE, timeoutMs: 2s, replication: { class: NetworkTopologyStrategy, datacenters: { dc1: 3, dc2: 2 } }',
    );
    const ns = parseConfig(text, 'x.yaml', { WAL_CASSANDRA_CONTACT_POINTS: 'c1:9042, c2' }).namespaces[0];
    expect(ns.targets.rows).toMatchObject({
      contactPoints: ['c1:9042', 'c2'],
      consistency: 'ONE',
      timeoutMs: 2000,
      replication: { class: 'NetworkTopologyStrategy', datacenters: { dc1: 3, dc2: 2 } },
    });
  });

  const cases: [string, string, string][] = [
    ['no contact points', 'localDataCenter: dc, keyspace: k, table: t', 'targets.rows.contactPoints must be "host:port,host" or a list of "host[:port]"'],
    ['an empty contact point list', 'contactPoints: [], localDataCenter: dc, keyspace: k, table: t', 'targets.rows.contactPoints must name at least one contact point'],
    ['a URL as contact point', 'contactPoints: [ "cql://h:1" ], localDataCenter: dc, keyspace: k, table: t', 'targets.rows.contactPoints[0] each contact point must be "host" or "host:port"'],
    ['no local datacenter', 'contactPoints: h, keyspace: k, table: t', 'targets.rows.localDataCenter'],
    ['a keyspace in capitals', 'contactPoints: h, localDataCenter: dc, keyspace: Wal, table: t', 'targets.rows.keyspace must be a CQL name'],
    ['a table name with a dot', 'contactPoints: h, localDataCenter: dc, keyspace: k, table: a.b', 'targets.rows.table must be a CQL name'],
    ['a value column with a quote', `${BASE}, valueColumn: "v'; DROP"`, 'targets.rows.valueColumn must be a CQL name'],
    ['an unknown consistency', `${BASE}, consistency: MOST`, 'targets.rows.consistency'],
    ['a replication factor of 0', `${BASE}, replication: { class: SimpleStrategy, replicationFactor: 0 }`, 'targets.rows.replication.replicationFactor must be ≥ 1'],
    ['NetworkTopologyStrategy without datacenters', `${BASE}, replication: { class: NetworkTopologyStrategy, datacenters: {} }`, 'targets.rows.replication.datacenters must name at least one datacenter'],
    ['auth without password', `${BASE}, auth: { username: wal }`, 'targets.rows.auth.password is required'],
    ['a typo', `${BASE}, keySpace: x`, 'targets.rows.keySpace is not a known field'],
  ];

  it.each(cases)('names file, namespace and field for %s', (_title, fields, expected) => {
    const issues = issuesOf(withRows(fields));
    expect(issues).toEqual([expect.stringContaining(`topologies/x.yaml: namespace "orders": ${expected}`)]);
  });

  it('reads the password from the environment or a file, and never echoes it in an error', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'cass-password'), 'from-file\n');
    writeFileSync(join(dir, 'a.yaml'), withRows(`${BASE}, auth: { username: wal, password: "\${CASS_PASSWORD}" }`));
    writeFileSync(join(dir, 'b.yaml'), withRows(`${BASE}, auth: { username: wal, password: "file:cass-password" }`).replace('name: orders', 'name: other'));

    const config = loadConfig([join(dir, 'a.yaml'), join(dir, 'b.yaml')], { CASS_PASSWORD: 'from-env' });
    expect(config.namespaces.map((ns) => ns.targets.rows)).toEqual([
      expect.objectContaining({ auth: { username: 'wal', password: 'from-env' } }),
      expect.objectContaining({ auth: { username: 'wal', password: 'from-file' } }),
    ]);

    const missingFile = issuesOf(withRows(`${BASE}, auth: { username: wal, password: "file:nowhere" }`), {}, join(dir, 'c.yaml'));
    expect(missingFile).toEqual([expect.stringMatching(/namespace "orders": targets\.rows\.auth\.password names file .*nowhere, which cannot be read \(ENOENT\)$/)]);
    const malformed = issuesOf(withRows(`${BASE}, auth: { username: wal, password: 12345678 }`));
    expect(malformed).toEqual(['topologies/x.yaml: namespace "orders": targets.rows.auth.password must be a string']);
    expect(malformed.join('\n')).not.toContain('12345678');
  });

  it('reads TLS PEM from files and names the field of a bad one', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'a.yaml'), withRows(`${BASE}, ssl: { ca: "file:ca.pem" }`));
    const config = loadConfig([join(dir, 'a.yaml')], {});
    expect(config.namespaces[0].targets.rows).toMatchObject({ ssl: { ca: expect.stringContaining('BEGIN CERTIFICATE'), rejectUnauthorized: true } });

    expect(issuesOf(withRows(`${BASE}, ssl: { ca: "not pem" }`))).toEqual([
      expect.stringContaining('namespace "orders": targets.rows.ssl.ca must be PEM holding a CA certificate'),
    ]);
  });

  it('saves and loads back unchanged', () => {
    const dir = tempDir();
    const original = parseConfig(withRows(`${BASE}, consistency: QUORUM, auth: { username: u, password: pw }, ssl: true`), 'x.yaml', {});
    saveConfig(original, join(dir, 'saved.yaml'));
    const { sourceFiles: _saved, ...loaded } = loadConfig([join(dir, 'saved.yaml')], {});
    const { sourceFiles: _original, ...expected } = original;
    expect(loaded).toEqual(expected);
  });
});
