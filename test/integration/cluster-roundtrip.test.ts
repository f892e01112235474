import fs from 'node:fs';
import path from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';
import { testCluster, uniqueTopic } from '../support/clusters';

const schemaText = fs.readFileSync(path.resolve(__dirname, '../../schemas/WriteToLogRequest.avsc'), 'utf8');

const sample = {
  namespace: 'orders',
  id: 'req-1',
  lifecycle: { writeTime: 1795420000000, delayMs: 30000, deliverAt: null },
  payload: Buffer.from('{"order":42}'),
  contentType: 'application/json',
  target: null,
  headers: { tenant: 'acme' },
  mutations: [{ target: 'orders', key: '42', op: 'PUT', value: Buffer.from('x'), sequence: 7 }],
};

describe.each(['A', 'B'] as const)('cluster %s', (name) => {
  const cluster = testCluster(name);
  const kafka = new Kafka({ clientId: `roundtrip-${name}`, brokers: cluster.brokers, logLevel: logLevel.WARN });

  it('registers a schema from schemas/, round-trips a Confluent wire-format record through a real broker', async () => {
    process.stdout.write(`cluster ${name}: Apache Kafka ${cluster.kafkaVersion} (${cluster.source}), ${cluster.registryVersion}\n`);
    const topic = uniqueTopic('roundtrip');
    const registry = new SchemaRegistry({ host: cluster.registryUrl });
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: schemaText }, { subject: `${topic}-value` });

    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();

    const encoded = await registry.encode(id, sample);
    // Confluent wire format: magic byte 0, 4-byte big-endian schema id, then the Avro body.
    expect(encoded[0]).toBe(0);
    expect(encoded.readInt32BE(1)).toBe(id);

    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: sample.id, value: encoded }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `${topic}-reader` });
    await consumer.connect();
    let received: Buffer;
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      received = await new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no record on ${topic} within 30 s`)), 30000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            clearTimeout(timer);
            resolve(message.value as Buffer);
          },
        });
      });
    } finally {
      // Also when no record came: a running consumer would keep jest from exiting.
      await consumer.disconnect();
    }

    // A fresh registry client: decoding must fetch the schema by id from the registry itself.
    const decoded = await new SchemaRegistry({ host: cluster.registryUrl }).decode(received);
    expect(decoded).toEqual(sample);
  });
});
