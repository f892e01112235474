import fs from 'node:fs';
import path from 'node:path';
import { applyTopics } from '../../src/kafka';
import { MirrorRunner } from '../../src/mirror';
import { ConfigError, parseConfig, type WalConfig } from '../../src/namespaces';
import { planTopics } from '../../src/namespaces/topic-plan';
import { createWalWriter, type WriteResult } from '../../src/api';
import { testCluster, uniqueTopic } from '../support/clusters';
import { collect, header, startQueue, stopCollectors } from '../support/delayed-queue';
import { DLQ_HEADERS } from '../../src/wire/headers';
import { createTopic, kafkaFor, produceRecords, readTopic, TEST_TUNING } from '../support/mirror-fixture';
import { quietKafka, SECURED_ENV, startSecuredBroker, type SecuredBroker } from '../support/secured-cluster';
import { runWal } from '../support/wal-cli';

/**
 * wal against a broker whose client listener is SASL_SSL (SCRAM-SHA-512 over TLS with a CA of the test's
 * own): the writer, a delayed queue delivering to a Kafka target and a mirror link all connect with the
 * cluster's ssl/sasl settings, and every misconfiguration is answered in time with what is wrong.
 */

jest.setTimeout(120_000);

const A = testCluster('A');
const WRITE_TIMEOUT_MS = 5000;
let S: SecuredBroker;

beforeAll(async () => {
  S = await startSecuredBroker();
  process.stdout.write(`secured broker (SASL_SSL ${S.saslSsl.join(',')}, SSL with client certificates ${S.mutualTls.join(',')}, PLAINTEXT ${S.plaintext.join(',')}) ready in ${(S.startupMs / 1000).toFixed(1)} s\n`);
}, 180_000);

afterAll(async () => {
  await stopCollectors();
  await S?.stop();
});

/** A config whose cluster S is the secured broker (as `clusterYaml` gives it), read by the real loader. */
function configWith(namespaces: string, options: { cluster?: string; env?: NodeJS.ProcessEnv; plainA?: boolean } = {}): WalConfig {
  const clusters = [options.cluster ?? S.clusterYaml('S'), ...(options.plainA ? [`  A: { brokers: "${A.brokers.join(',')}", schemaRegistryUrl: "${A.registryUrl}" }`] : [])];
  return parseConfig(`clusters:\n${clusters.join('\n')}\nnamespaces:\n${namespaces}\n`, path.join(S.dir, 'wal.yaml'), options.env ?? SECURED_ENV);
}

function namespaceYaml(name: string, extra = ''): string {
  return [`  - name: ${name}`, '    cluster: S', '    partitions: 1', '    delay: { defaultDelayMs: 0 }', extra].filter(Boolean).join('\n');
}

/** Creates the namespaces' topics on each cluster that holds some (but those of `skip`). */
async function provision(config: WalConfig, skip: string[] = []): Promise<void> {
  const specs = config.namespaces.flatMap(planTopics).filter((spec) => !skip.includes(spec.cluster));
  for (const alias of new Set(specs.map((spec) => spec.cluster))) {
    const admin = quietKafka(config.clusters[alias], 'secured-test-admin').admin();
    await admin.connect();
    try {
      await applyTopics(admin, specs.filter((spec) => spec.cluster === alias));
    } finally {
      await admin.disconnect();
    }
  }
}

async function writeOnce(config: WalConfig, namespace: string): Promise<{ result: WriteResult; ms: number }> {
  const writer = createWalWriter({ config, timeoutMs: WRITE_TIMEOUT_MS });
  const started = Date.now();
  try {
    const result = await writer.writeToLog({ namespace, payload: { order: 1 } });
    return { result, ms: Date.now() - started };
  } finally {
    await writer.close();
  }
}

describe('a SASL_SSL cluster (SCRAM-SHA-512, TLS with a private CA)', () => {
  it('takes a WriteToLog write durably: acknowledged, and on the intake topic', async () => {
    const name = uniqueTopic('sec-write');
    const config = configWith(namespaceYaml(name));
    await provision(config);
    const { result } = await writeOnce(config, name);
    expect(result).toMatchObject({ durable: 'true', partition: 0, offset: '0' });
    const records = await readTopic(quietKafka(config.clusters.S, 'secured-test-reader'), config.namespaces[0].topics.intake, (r) => r.length >= 1, 20_000);
    expect(records.map((r) => r.message.key?.toString())).toEqual([result.id]);
  });

  it.each(['scram-sha-256', 'plain'])('takes a write over SASL %s too', async (mechanism) => {
    const name = uniqueTopic(`sec-${mechanism}`);
    const config = configWith(namespaceYaml(name), { cluster: S.clusterYaml('S', { sasl: `{ mechanism: ${mechanism}, username: wal, password: "\${WAL_KAFKA_PASSWORD}" }` }) });
    await provision(config);
    expect((await writeOnce(config, name)).result).toMatchObject({ durable: 'true', offset: '0' });
  });

  it('takes a write over mutual TLS (ssl.cert and ssl.key from files, no SASL)', async () => {
    const name = uniqueTopic('sec-mtls');
    const ssl = `{ ca: "file:${S.certs.caFile}", cert: "file:${S.client.certFile}", key: "file:${S.client.keyFile}" }`;
    const config = configWith(namespaceYaml(name), { cluster: S.clusterYaml('S', { brokers: S.mutualTls, ssl, sasl: null }) });
    await provision(config);
    expect((await writeOnce(config, name)).result).toMatchObject({ durable: 'true', offset: '0' });
  });

  it('runs a delayed-queue namespace that delivers to a Kafka target on the same secured cluster', async () => {
    const name = uniqueTopic('sec-dq');
    const out = `${name}.out`;
    const config = configWith(
      namespaceYaml(name, [`    targets: { out: { type: kafka, topic: ${out} } }`, '    defaultTarget: out', '    runtime: { commitIntervalMs: 500, punctuationIntervalMs: 100 }'].join('\n')),
    );
    await provision(config);
    const { runner } = await startQueue(config, config.namespaces[0]);
    try {
      const delivered = await collect(quietKafka(config.clusters.S, 'secured-test-collector'), out);
      const writer = createWalWriter({ config, timeoutMs: WRITE_TIMEOUT_MS });
      const results = await Promise.all([1, 2, 3].map((n) => writer.writeToLog({ namespace: name, payload: { n }, lifecycle: { delayMs: 300 } })));
      await writer.close();
      expect(results.map((r) => r.durable)).toEqual(['true', 'true', 'true']);
      await delivered.waitFor(3, 30_000);
      expect(delivered.messages.map((m) => JSON.parse(m.value!.toString()) as unknown).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
        { n: 1 },
        { n: 2 },
        { n: 3 },
      ]);
      await delivered.stop();
    } finally {
      await runner.stop();
    }
  });

  it('takes deliveries of a Kafka target from a namespace on plain cluster A; a target whose password it refuses dead-letters at once, saying so', async () => {
    const name = uniqueTopic('sec-target');
    const denied = S.clusterYaml('Sdenied', { sasl: '{ mechanism: scram-sha-512, username: wal, password: not-the-password }' });
    const config = configWith(
      [
        `  - name: ${name}`,
        '    cluster: A',
        '    partitions: 1',
        '    delay: { defaultDelayMs: 0 }',
        '    maxRetries: 3',
        '    backoff: { initialMs: 200, maxMs: 1s }',
        `    targets: { out: { type: kafka, topic: ${name}.out, cluster: S }, denied: { type: kafka, topic: ${name}.denied, cluster: Sdenied } }`,
        '    defaultTarget: out',
        '    runtime: { commitIntervalMs: 500, punctuationIntervalMs: 100 }',
      ].join('\n'),
      { cluster: `${S.clusterYaml('S')}\n${denied}`, plainA: true },
    );
    await provision(config, ['Sdenied']);
    const namespace = config.namespaces[0];
    const { runner } = await startQueue(config, namespace);
    try {
      const delivered = await collect(quietKafka(config.clusters.S, 'secured-test-target-collector'), `${name}.out`);
      const dead = await collect(quietKafka(config.clusters.A, 'secured-test-dlq-collector'), namespace.topics.dlq);
      const writer = createWalWriter({ config, timeoutMs: WRITE_TIMEOUT_MS });
      const results = [await writer.writeToLog({ namespace: name, id: 'to-s', payload: 'x' }), await writer.writeToLog({ namespace: name, id: 'to-denied', payload: 'y', target: 'denied' })];
      await writer.close();
      expect(results.map((r) => r.durable)).toEqual(['true', 'true']);
      await delivered.waitFor(1, 30_000);
      expect(delivered.messages.map((m) => m.value!.toString())).toEqual(['x']);
      await dead.waitFor(1, 30_000);
      expect([header(dead.messages[0], DLQ_HEADERS.id), header(dead.messages[0], DLQ_HEADERS.kind), header(dead.messages[0], DLQ_HEADERS.attempts)]).toEqual(['to-denied', 'permanent', '1']);
      expect(header(dead.messages[0], DLQ_HEADERS.reason)).toMatch(/authentication failed for user 'wal' on cluster 'Sdenied' \(SCRAM-SHA-512\)/);
      expect(header(dead.messages[0], DLQ_HEADERS.reason)).not.toContain('not-the-password');
      await Promise.all([delivered.stop(), dead.stop()]);
    } finally {
      await runner.stop();
    }
  });

  it('is the target of a mirror link from plain cluster A', async () => {
    const ns = uniqueTopic('sec-mirror');
    const topic = `${ns}.orders`;
    await createTopic(kafkaFor(A), topic, 2);
    const written = await produceRecords(kafkaFor(A), topic, { count: 500, partitions: 2, tag: 'sec' });
    const config = configWith(
      [`  - name: ${ns}`, '    cluster: A', `    replication: { source: A, targets: [S], topics: [${topic}], checkpointIntervalMs: 1s }`].join('\n'),
      { plainA: true },
    );
    const runner = new MirrorRunner({ config, namespace: config.namespaces[0], instanceId: 'secured-test', tuning: TEST_TUNING });
    await runner.start();
    try {
      const copied = await readTopic(quietKafka(config.clusters.S, 'secured-test-mirror-reader'), `A.${topic}`, (r) => r.length >= 500, 60_000, { settleMs: 500 });
      expect(copied.map((r) => r.message.value!.toString()).sort()).toEqual(written.map((r) => r.value).sort());
    } finally {
      await runner.stop();
    }
  });
});

describe('a misconfigured connection to the secured cluster is answered in time, naming the cluster and the cause', () => {
  const name = 'sec-bad';

  it.each([
    ['a wrong password', {}, { ...SECURED_ENV, WAL_KAFKA_PASSWORD: 'not-the-password' }, /^nothing was written: authentication failed for user 'wal' on cluster 'S' \(SCRAM-SHA-512\)/],
    ['a certificate no configured CA signed', { ssl: 'true' }, SECURED_ENV, /^nothing was written: the certificate of cluster 'S' is not trusted \(.*(self[- ]signed|unable to verify).*\): set ssl\.ca/],
    ['TLS to the plaintext listener', { plaintext: true }, SECURED_ENV, /^nothing was written: no TLS session with cluster 'S' at 127\.0\.0\.1:\d+ \(.*\): ssl is set, but the listener does not speak TLS/],
    ['plaintext to the TLS listener', { ssl: null, sasl: null }, SECURED_ENV, /^nothing was written: cluster 'S' at 127\.0\.0\.1:\d+ speaks TLS, but ssl is not set for it/],
    ['no client certificate for a mutual-TLS listener', { mutualTls: true, sasl: null }, SECURED_ENV, /^nothing was written: cluster 'S' requires a client certificate: set ssl\.cert and ssl\.key/],
  ] as const)('%s: durable false with the reason, within the write timeout', async (_what, change, env, message) => {
    const cluster = S.clusterYaml('S', {
      ...('plaintext' in change ? { brokers: S.plaintext } : {}),
      ...('mutualTls' in change ? { brokers: S.mutualTls } : {}),
      ...('ssl' in change ? { ssl: change.ssl } : {}),
      ...('sasl' in change ? { sasl: change.sasl } : {}),
    });
    const { result, ms } = await writeOnce(configWith(namespaceYaml(name), { cluster, env }), name);
    expect(result).toMatchObject({ durable: 'false', reason: 'broker-unavailable', message: expect.stringMatching(message) });
    expect(result.message).not.toContain('not-the-password');
    expect(ms).toBeLessThanOrEqual(WRITE_TIMEOUT_MS + 1000);
  });

  it('rejects an unknown SASL mechanism when the config is read, naming file, cluster and field', () => {
    const cluster = S.clusterYaml('S', { sasl: '{ mechanism: gssapi, username: wal, password: x }' });
    expect(() => configWith(namespaceYaml(name), { cluster })).toThrow(ConfigError);
    expect(() => configWith(namespaceYaml(name), { cluster })).toThrow(
      `${path.join(S.dir, 'wal.yaml')}: cluster "S": sasl.mechanism must be one of "plain", "scram-sha-256", "scram-sha-512" (got "gssapi")`,
    );
  });

  /** A topology file whose cluster S reads a wrong password from a file beside it. */
  function wrongPasswordFile(): string {
    const file = path.join(S.dir, 'wrong-password.yaml');
    fs.writeFileSync(file, `clusters:\n${S.clusterYaml('S', { sasl: '{ mechanism: scram-sha-512, username: wal, password: "file:wrong-password.txt" }' })}\nnamespaces:\n${namespaceYaml(name)}\n`);
    fs.writeFileSync(path.join(S.dir, 'wrong-password.txt'), 'not-the-password\n');
    return file;
  }

  it('wal write (the CLI) answers durable false with the reason and exits 1 on a wrong password', async () => {
    const file = wrongPasswordFile();
    const run = await runWal('write', ['-t', file, '-n', name, '--payload', '{"order":1}', '--timeout', `${WRITE_TIMEOUT_MS}ms`], 30_000);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      durable: 'false',
      reason: 'broker-unavailable',
      message: expect.stringMatching(/^nothing was written: authentication failed for user 'wal' on cluster 'S' \(SCRAM-SHA-512\)/),
    });
    expect(run.stdout + run.stderr).not.toContain('not-the-password');
  });

  it('wal topics apply (an admin client of the one factory) fails with the same explanation, and no password in its output', async () => {
    const run = await runWal('topics', ['apply', wrongPasswordFile()], 60_000);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/^wal: authentication failed for user 'wal' on cluster 'S' \(SCRAM-SHA-512\)/m);
    expect(run.stdout + run.stderr).not.toContain('not-the-password');
  });

  it('wal topics apply against an untrusted certificate fails with the explanation once kafkajs gives up connecting (its retry budget, ~10 s)', async () => {
    const file = path.join(S.dir, 'untrusted.yaml');
    fs.writeFileSync(path.join(S.dir, 'password.txt'), SECURED_ENV.WAL_KAFKA_PASSWORD);
    const sasl = '{ mechanism: scram-sha-512, username: wal, password: "file:password.txt" }';
    fs.writeFileSync(file, `clusters:\n${S.clusterYaml('S', { ssl: 'true', sasl })}\nnamespaces:\n${namespaceYaml(name)}\n`);
    const started = Date.now();
    const run = await runWal('topics', ['apply', file], 60_000);
    const ms = Date.now() - started;
    process.stdout.write(`wal topics apply against an untrusted certificate answered in ${ms} ms\n`);
    expect(run.code).not.toBe(0);
    // kafkajs retries a failed TLS handshake like any connection error: its default budget (5 retries) bounds it.
    expect(ms).toBeLessThan(30_000);
    expect(run.stderr).toMatch(/^wal: the certificate of cluster 'S' is not trusted \(.*\): set ssl\.ca/m);
  });
});
