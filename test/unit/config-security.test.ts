import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig, saveConfig } from '../../src/namespaces';
import { configErrorOf } from '../support/config';
import { kafkaSecurity } from '../../src/kafka';
import { registryOf } from '../../src/wire';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIEkey\n-----END PRIVATE KEY-----\n';

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  return configErrorOf(text, 'topologies/s.yaml', env).issues;
}

const cluster = (body: string) => `clusters:\n  S:\n    brokers: 127.0.0.1:9093\n${body.replace(/^/gm, '    ')}\n`;

describe('a secured cluster in the configuration', () => {
  it('reads ssl and registry PEM from files relative to the config file, and the SASL password from the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-sec-'));
    mkdirSync(join(dir, 'certs'));
    writeFileSync(join(dir, 'certs', 'ca.pem'), CA);
    writeFileSync(join(dir, 'certs', 'client.pem'), CA);
    writeFileSync(join(dir, 'certs', 'client.key'), KEY);
    writeFileSync(
      join(dir, 'clusters.yaml'),
      cluster(`ssl:
  ca: file:certs/ca.pem
  cert: file:certs/client.pem
  key: file:certs/client.key
  passphrase: \${KEY_PASSPHRASE}
sasl: { mechanism: scram-sha-512, username: wal, password: "\${WAL_KAFKA_PASSWORD}" }
schemaRegistry: { url: "https://registry:8443/apis/ccompat/v7", basicAuth: "reg-user:\${REGISTRY_PASSWORD}", ca: file:certs/ca.pem }`),
    );
    const config = loadConfig([join(dir, 'clusters.yaml')], { WAL_KAFKA_PASSWORD: 'kafka-secret', REGISTRY_PASSWORD: 'p:w', KEY_PASSPHRASE: 'pp' });
    expect(config.clusters.S).toEqual({
      name: 'S',
      brokers: ['127.0.0.1:9093'],
      schemaRegistryUrl: 'https://registry:8443/apis/ccompat/v7',
      schemaRegistry: { basicAuth: { username: 'reg-user', password: 'p:w' }, ca: CA },
      ssl: { ca: CA, cert: CA, key: KEY, passphrase: 'pp', rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-512', username: 'wal', password: 'kafka-secret' },
    });
    expect(kafkaSecurity(config.clusters.S)).toEqual({
      ssl: { ca: CA, cert: CA, key: KEY, passphrase: 'pp', rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-512', username: 'wal', password: 'kafka-secret' },
    });
    expect(registryOf(config.clusters.S)).toEqual({
      registryUrl: 'https://registry:8443/apis/ccompat/v7',
      basicAuth: { username: 'reg-user', password: 'p:w' },
      ca: CA,
    });
  });

  it('takes `ssl: true` as TLS with the system CAs, and no ssl or sasl as a plaintext cluster', () => {
    const config = parseConfig(cluster('ssl: true\nschemaRegistryUrl: http://r:1'), 'x.yaml', {});
    expect(config.clusters.S.ssl).toEqual({ rejectUnauthorized: true });
    expect(kafkaSecurity(config.clusters.S)).toEqual({ ssl: { rejectUnauthorized: true } });
    const plain = parseConfig(cluster('schemaRegistryUrl: http://r:1'), 'x.yaml', {});
    expect(kafkaSecurity(plain.clusters.S)).toEqual({});
    expect(registryOf(plain.clusters.S)).toEqual({ registryUrl: 'http://r:1' });
  });

  it('moves credentials written into the registry URL to basic auth, so no error message carries them', () => {
    const config = parseConfig(cluster('schemaRegistryUrl: "https://u%40x:s3cret@registry:8443/apis/ccompat/v7"'), 'x.yaml', {});
    expect(config.clusters.S.schemaRegistryUrl).toBe('https://registry:8443/apis/ccompat/v7');
    expect(config.clusters.S.schemaRegistry).toEqual({ basicAuth: { username: 'u@x', password: 's3cret' } });
  });

  it('saves a secured cluster so that it loads back equal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-sec-'));
    const config = parseConfig(
      cluster(`ssl: { ca: ${JSON.stringify(CA)} }\nsasl: { mechanism: plain, username: u, password: p }\nschemaRegistry: { url: "http://r:1", basicAuth: { username: a, password: b } }`),
      'x.yaml',
      {},
    );
    saveConfig(config, join(dir, 'saved.yaml'));
    expect(loadConfig([join(dir, 'saved.yaml')], {}).clusters).toEqual(config.clusters);
  });

  it.each([
    ['an unknown SASL mechanism', 'sasl: { mechanism: gssapi, username: wal, password: x }', 'cluster "S": sasl.mechanism must be one of "plain", "scram-sha-256", "scram-sha-512" (got "gssapi")'],
    ['a SASL section without password', 'sasl: { mechanism: plain, username: wal }', 'cluster "S": sasl.password is required'],
    ['ssl that is neither true nor an object', 'ssl: yes please', 'cluster "S": ssl must be true, false or { ca, cert, key, passphrase, rejectUnauthorized } (got "yes please")'],
    ['a CA that is no PEM', 'ssl: { ca: not-a-certificate }', 'cluster "S": ssl.ca must be PEM holding a CA certificate (inline, file:<path> or ${ENV})'],
    ['a client certificate without its key', `ssl: { cert: ${JSON.stringify(CA)} }`, 'cluster "S": ssl.key is required when ssl.cert is set (a client certificate needs its key)'],
    ['a CA file that does not exist', 'ssl: { ca: "file:/nonexistent/ca.pem" }', 'cluster "S": ssl.ca names file /nonexistent/ca.pem, which cannot be read (ENOENT)'],
    ['no registry at all', '{}', 'cluster "S": schemaRegistryUrl is required (or schemaRegistry.url)'],
  ])('rejects %s, naming file, cluster and field', (_what, body, issue) => {
    const registry = body.includes('schemaRegistry') || body === '{}' ? '' : '\nschemaRegistryUrl: http://r:1';
    const text = body === '{}' ? 'clusters:\n  S:\n    brokers: 127.0.0.1:9093\n' : cluster(`${body}${registry}`);
    expect(issuesOf(text)).toEqual([`topologies/s.yaml: ${issue}`]);
  });

  it('never echoes a secret in an error, even a malformed one', () => {
    const issues = issuesOf(cluster('schemaRegistry: { url: "http://r:1", basicAuth: "hunter2-without-colon" }\nsasl: { mechanism: plain, username: wal, password: "" }'));
    expect(issues).toEqual([
      'topologies/s.yaml: cluster "S": schemaRegistry.basicAuth must be "user:password"',
      'topologies/s.yaml: cluster "S": sasl.password must not be empty',
    ]);
    expect(issues.join('\n')).not.toContain('hunter2');
  });

  it('names a missing environment variable behind a password without printing anything else', () => {
    expect(issuesOf(cluster('schemaRegistryUrl: http://r:1\nsasl: { mechanism: scram-sha-256, username: wal, password: "${WAL_KAFKA_PASSWORD}" }'))).toEqual([
      expect.stringMatching(/^topologies\/s\.yaml: cluster "S": sasl\.password uses environment variable WAL_KAFKA_PASSWORD, which is not set/),
    ]);
  });
});
