import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, Producer } from 'kafkajs';
import { createWalWriter, WalWriter } from '../../src/api';
import { createWriterKafkaClient } from '../../src/kafka/writer-client';
import { parseConfig } from '../../src/namespaces';
import type { ClusterConfig } from '../../src/namespaces';
import { DevCluster, startDevCluster } from '../../src/devcluster';
import type { JvmClusterRecord } from '../../src/devcluster/jvm';
import { rootLogger } from '../../src/observability/logger';

/**
 * The `unknown` outcome needs a broker that dies while a send is in flight, so this file starts a
 * PRIVATE single-broker JVM cluster (mode 'jvm') and kills it. It does so even when KAFKA_BROKERS
 * points at a shared cluster: killing a shared broker would break every other test, and the
 * behaviour must be covered in CI, so this test is never skipped.
 */
const TIMEOUT_MS = 5000;

describe('writeToLog when the broker dies mid-request', () => {
  let dev: DevCluster | undefined;
  let writer: WalWriter | undefined;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-write-unknown-'));

  beforeAll(async () => {
    dev = await startDevCluster({ names: ['X'], mode: 'jvm', workDir, onProgress: (m) => process.stdout.write(`[private cluster] ${m}\n`) });
  }, 300_000);

  afterAll(async () => {
    await writer?.close();
    await dev?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  it("answers 'unknown' (retry with the same id is safe) within the timeout", async () => {
    const x = dev!.clusters[0] as JvmClusterRecord;
    const intake = 'wal.orders.intake';
    const admin = new Kafka({ clientId: 'write-unknown-admin', brokers: x.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: intake, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();

    const config = parseConfig(
      `clusters:\n  X:\n    brokers: ${x.brokers.join(',')}\n    schemaRegistryUrl: ${x.registryUrl}\nnamespaces:\n  - name: orders\n    cluster: X\n    partitions: 1\n`,
      'write-unknown.test.yaml',
    );
    // The broker is killed right after the producer was handed the batch: the send has provably begun.
    let killOnSend = false;
    const kafkaFactory = (cluster: ClusterConfig, clientId: string): Kafka => {
      const kafka = createWriterKafkaClient(cluster, clientId, TIMEOUT_MS, rootLogger());
      const makeProducer = kafka.producer.bind(kafka);
      kafka.producer = (options) => {
        const producer: Producer = makeProducer(options);
        const sendBatch = producer.sendBatch.bind(producer);
        producer.sendBatch = (batch) => {
          const sent = sendBatch(batch);
          if (killOnSend) process.kill(-x.brokerPid, 'SIGKILL');
          return sent;
        };
        return producer;
      };
      return kafka;
    };
    writer = createWalWriter({ config, timeoutMs: TIMEOUT_MS, kafkaFactory });

    // Warm up: producer connected, schema registered, so the next write goes straight to the broker.
    expect(await writer.writeToLog({ namespace: 'orders', id: 'warm-up', payload: 'x' })).toMatchObject({ durable: 'true' });

    killOnSend = true;
    const started = Date.now();
    const result = await writer.writeToLog({ namespace: 'orders', id: 'in-flight', payload: { order: 7 } });
    const elapsed = Date.now() - started;

    expect(result).toMatchObject({ durable: 'unknown', id: 'in-flight' });
    expect(result.message).toMatch(/may or may not be written/);
    expect(result.message).toMatch(/retrying with the same id \(in-flight\) is safe/);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1500);
  });
});
