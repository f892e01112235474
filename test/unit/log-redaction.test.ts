import { Writable } from 'node:stream';
import { parseConfig } from '../../src/namespaces';
import { createLogger } from '../../src/observability/logger';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIEsecretkey\n-----END PRIVATE KEY-----\n';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream };
}

describe('logs mask secrets', () => {
  it('a logged cluster config shows brokers and mechanism but no password, key, passphrase or registry credentials', () => {
    const config = parseConfig(
      `clusters:
  S:
    brokers: 127.0.0.1:9093
    schemaRegistry: { url: "https://r:8443", basicAuth: "reg-user:reg-secret" }
    ssl: { ca: ${JSON.stringify(CA)}, cert: ${JSON.stringify(CA)}, key: ${JSON.stringify(KEY)}, passphrase: key-secret }
    sasl: { mechanism: scram-sha-512, username: wal, password: kafka-secret }
`,
      'x.yaml',
      {},
    );
    const { lines, stream } = capture();
    const logger = createLogger({ component: 'test' }, {}, stream);
    logger.info({ cluster: config.clusters.S }, 'cluster');
    logger.child({ clusters: config.clusters }).warn('nested');
    logger.info(config.clusters.S.sasl, 'top level');
    const text = lines.join('');
    expect(lines).toHaveLength(3);
    for (const secret of ['kafka-secret', 'reg-secret', 'key-secret', 'MIIEsecretkey']) expect(text).not.toContain(secret);
    expect(JSON.parse(lines[0])).toMatchObject({
      cluster: { brokers: ['127.0.0.1:9093'], sasl: { mechanism: 'scram-sha-512', username: 'wal', password: '***' }, ssl: { key: '***', passphrase: '***' } },
    });
  });
});
