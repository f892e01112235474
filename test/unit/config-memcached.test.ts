import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseConfig, saveConfig } from '../../src/namespaces';
import { configErrorOf, PRIMARY_CLUSTER, tempDirsFor } from '../support/config';

const CLUSTER = PRIMARY_CLUSTER;

/** A file whose one namespace has one memcached target `cache` with these fields (YAML flow mapping body). */
function withCache(fields: string): string {
  return `${CLUSTER}\nnamespaces:\n  - name: orders\n    targets:\n      cache: { type: memcached, ${fields} }\n`;
}

const tempDir = tempDirsFor('wal-config-mc-');

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}, file = 'topologies/x.yaml'): string[] {
  return configErrorOf(text, file, env).issues;
}

describe('memcached target config', () => {
  it('fills the defaults: no TTL, day-long tombstones, 1 MiB items, 1 s requests, 2 s connects, no SASL', () => {
    const ns = parseConfig(withCache('servers: "127.0.0.1:11211"'), 'x.yaml', {}).namespaces[0];
    expect(ns.targets.cache).toEqual({
      type: 'memcached',
      servers: ['127.0.0.1:11211'],
      keyPrefix: '',
      ttl: 0,
      tombstoneTtl: 86_400_000,
      maxItemSize: 1024 * 1024,
      timeoutMs: 1000,
      connectTimeoutMs: 2000,
    });
  });

  it('takes servers as a list or a comma-separated string (as an env variable gives it), and durations in units', () => {
    const text = withCache('servers: "${WAL_MEMCACHED_SERVERS}", keyPrefix: "a:", ttl: 1h, tombstoneTtl: 2d, maxItemSize: 4MiB, timeoutMs: 250ms');
    const ns = parseConfig(text, 'x.yaml', { WAL_MEMCACHED_SERVERS: 'h1:11211, h2:11212' }).namespaces[0];
    expect(ns.targets.cache).toMatchObject({ servers: ['h1:11211', 'h2:11212'], keyPrefix: 'a:', ttl: 3_600_000, tombstoneTtl: 172_800_000, maxItemSize: 4 * 1024 * 1024, timeoutMs: 250 });
    const listed = parseConfig(withCache('servers: [h1:1, h2:2]'), 'x.yaml', {}).namespaces[0];
    expect(listed.targets.cache).toMatchObject({ servers: ['h1:1', 'h2:2'] });
  });

  const cases: [string, string, string][] = [
    ['no servers', 'keyPrefix: x', 'targets.cache.servers must be "host:port,host:port" or a list of "host:port"'],
    ['an empty server list', 'servers: []', 'targets.cache.servers must name at least one server'],
    ['a server without port', 'servers: [cachehost]', 'targets.cache.servers[0] each server must be "host:port" (got "cachehost")'],
    ['a TTL in milliseconds', 'servers: [h:1], ttl: 1500ms', 'targets.cache.ttl must be whole seconds (memcached counts expiry in seconds)'],
    ['an unreadable TTL', 'servers: [h:1], ttl: soon', 'targets.cache.ttl must be a duration such as "250ms"'],
    ['a tombstone that never expires', 'servers: [h:1], tombstoneTtl: 0', 'targets.cache.tombstoneTtl must be > 0 (a tombstone without expiry would never leave the cache on its own)'],
    ['a zero timeout', 'servers: [h:1], timeoutMs: 0', 'targets.cache.timeoutMs must be > 0 (got 0)'],
    ['a typo', 'servers: [h:1], tombstoneTTL: 5', 'targets.cache.tombstoneTTL is not a known field (did you mean "tombstoneTtl"?)'],
    ['a field of another target type', 'servers: [h:1], ttlSeconds: 5', 'targets.cache.ttlSeconds is not a known field (known: type, servers, keyPrefix, ttl, tombstoneTtl, maxItemSize, timeoutMs, connectTimeoutMs, sasl)'],
    ['SASL without password', 'servers: [h:1], sasl: { username: wal }', 'targets.cache.sasl.password is required'],
  ];

  it.each(cases)('names file, namespace and field for %s', (_title, fields, expected) => {
    const issues = issuesOf(withCache(fields));
    expect(issues).toEqual([expect.stringContaining(`topologies/x.yaml: namespace "orders": ${expected}`)]);
  });

  it('reads the SASL password from the environment or a file, and never echoes it in an error', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mc-password'), 'from-file\n');
    writeFileSync(join(dir, 'a.yaml'), withCache('servers: [h:1], sasl: { username: wal, password: "${MC_PASSWORD}" }'));
    writeFileSync(join(dir, 'b.yaml'), withCache('servers: [h:1], sasl: { username: wal, password: "file:mc-password" }').replace('name: orders', 'name: other'));

    const config = loadConfig([join(dir, 'a.yaml'), join(dir, 'b.yaml')], { MC_PASSWORD: 'from-env' });
    expect(config.namespaces.map((ns) => ns.targets.cache)).toEqual([
      expect.objectContaining({ sasl: { username: 'wal', password: 'from-env' } }),
      expect.objectContaining({ sasl: { username: 'wal', password: 'from-file' } }),
    ]);

    const missingFile = issuesOf(withCache('servers: [h:1], sasl: { username: wal, password: "file:nowhere" }'), {}, join(dir, 'c.yaml'));
    expect(missingFile).toEqual([expect.stringMatching(/namespace "orders": targets\.cache\.sasl\.password names file .*nowhere, which cannot be read \(ENOENT\)$/)]);
    const malformed = issuesOf(withCache('servers: [h:1], sasl: { username: wal, password: 12345678 }'));
    expect(malformed).toEqual(['topologies/x.yaml: namespace "orders": targets.cache.sasl.password must be a string']);
    expect(malformed.join('\n')).not.toContain('12345678');
  });

  it('saves and loads back unchanged', () => {
    const dir = tempDir();
    const original = parseConfig(withCache('servers: [h1:1, h2:2], keyPrefix: "p:", ttl: 30s, sasl: { username: u, password: pw }'), 'x.yaml', {});
    saveConfig(original, join(dir, 'saved.yaml'));
    const { sourceFiles: _saved, ...loaded } = loadConfig([join(dir, 'saved.yaml')], {});
    const { sourceFiles: _original, ...expected } = original;
    expect(loaded).toEqual(expected);
  });
});
