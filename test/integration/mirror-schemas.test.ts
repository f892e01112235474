import { MirrorRunner } from '../../src/mirror';
import { metricsRegistry } from '../../src/observability/metrics';
import type { Schema } from 'avsc';
import { createAvroCodec } from '../../src/wire/codec';
import { createRegistrySchemas } from '../../src/wire/registry-schemas';
import { testCluster, uniqueTopic } from '../support/clusters';
import { createTopic, kafkaFor, mirrorConfig, readTopic, TEST_TUNING } from '../support/mirror-fixture';

jest.setTimeout(90_000);

/**
 * Schema-aware mirroring on the two test clusters, whose schema registries are separate: Avro
 * records written on A in Confluent wire format must decode on B with B's registry alone.
 */
const A = testCluster('A');
const B = testCluster('B');
const kafkaA = kafkaFor(A);
const kafkaB = kafkaFor(B);
const codecA = createAvroCodec({ registryUrl: A.registryUrl });
const codecB = createAvroCodec({ registryUrl: B.registryUrl });
const running: MirrorRunner[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

const v1: Schema = { type: 'record', name: 'Event', namespace: 'wal.test.mirror', fields: [{ name: 'id', type: 'string' }] };
const v2: Schema = { type: 'record', name: 'Event', namespace: 'wal.test.mirror', fields: [{ name: 'id', type: 'string' }, { name: 'amount', type: 'int', default: 0 }] };

async function startMirror(ns: string, topic: string): Promise<void> {
  const { config, namespace } = mirrorConfig([A, B], { namespace: ns, source: 'A', target: 'B', topics: [topic] });
  const runner = new MirrorRunner({ config, namespace, instanceId: 'test', tuning: TEST_TUNING });
  running.push(runner);
  await runner.start();
}

async function produce(topic: string, messages: Array<{ key: Buffer | string; value: Buffer | string }>): Promise<void> {
  const producer = kafkaA.producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ ...m, partition: 0 })) });
  } finally {
    await producer.disconnect();
  }
}

async function skippedOn(topic: string): Promise<number> {
  const metric = (await metricsRegistry.getMetricsAsJSON()).find((m) => m.name === 'wal_mirror_schema_skipped_total');
  return ((metric?.values ?? []) as Array<{ value: number; labels: Record<string, string> }>).filter((v) => v.labels.topic === topic).reduce((n, v) => n + v.value, 0);
}

describe('schema-aware mirroring between two registries', () => {
  it('registers the writer schemas on the target registry and rewrites the ids: records of two schema versions decode on B with B’s registry; other bytes pass untouched', async () => {
    const ns = uniqueTopic('mirror-schemas');
    const topic = `${ns}.events`;
    await createTopic(kafkaA, topic, 1);
    // An Avro string key: an unnamed schema, which the SchemaRegistry library's own register refuses.
    const keyId = await createRegistrySchemas({ registryUrl: A.registryUrl }).registerRawSchema(`${topic}-key`, '"string"');
    const id1 = await codecA.registerSchema(`${topic}-value`, v1);
    const id2 = await codecA.registerSchema(`${topic}-value`, v2);
    const values = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? { id: `e-${i}` } : { id: `e-${i}`, amount: i }));
    await produce(topic, [
      ...(await Promise.all(values.map(async (v, i) => ({ key: await codecA.encode(keyId, `k-${i}`), value: await codecA.encode(i % 2 === 0 ? id1 : id2, v) })))),
      { key: 'plain-key', value: 'not avro at all' },
    ]);

    await startMirror(ns, topic);
    const copied = await readTopic(kafkaB, `A.${topic}`, (r) => r.length >= 21, 60_000);
    expect(copied).toHaveLength(21);

    const decoded = await Promise.all(copied.slice(0, 20).map(async (r) => ({ key: await codecB.decode(r.message.key), value: await codecB.decode(r.message.value) })));
    expect(decoded).toEqual(values.map((v, i) => ({ key: `k-${i}`, value: expect.objectContaining(v) })));
    // The ids on B are B's: the value schemas live under the target topic's subject there.
    const idsOnB = new Set(copied.slice(0, 20).map((r) => r.message.value!.readInt32BE(1)));
    expect(idsOnB.size).toBe(2);
    const schemaOnB = await codecB.schemaType([...idsOnB][1]);
    expect(schemaOnB.name).toBe('wal.test.mirror.Event');
    expect(copied[20].message.value!.toString()).toBe('not avro at all');
    expect(await skippedOn(`A.${topic}`)).toBe(0);
  });

  it('skips, counts and logs a record whose schema the target registry refuses, and goes on with the next', async () => {
    const ns = uniqueTopic('mirror-schemas-refused');
    const topic = `${ns}.events`;
    await createTopic(kafkaA, topic, 1);
    // B already holds an incompatible schema under the subject the mirrored topic would use.
    await codecB.registerSchema(`A.${topic}-value`, { type: 'record', name: 'Event', namespace: 'wal.test.mirror', fields: [{ name: 'other', type: 'int' }] });
    const id1 = await codecA.registerSchema(`${topic}-value`, v1);
    await produce(topic, [
      { key: 'refused', value: await codecA.encode(id1, { id: 'e-1' }) },
      { key: 'after', value: 'plain bytes after it' },
    ]);

    await startMirror(ns, topic);
    const copied = await readTopic(kafkaB, `A.${topic}`, (r) => r.length >= 1, 60_000, { settleMs: 1500 });
    expect(copied.map((r) => r.message.key!.toString())).toEqual(['after']);
    expect(await skippedOn(`A.${topic}`)).toBe(1);
  });
});
