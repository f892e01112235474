import type { Kafka } from 'kafkajs';
import { MirrorRunner } from '../../src/mirror';
import { metricsRegistry } from '../../src/observability/metrics';
import { testCluster, uniqueTopic } from '../support/clusters';
import { createTopic, eventually, kafkaFor, mirrorConfig, produceRecords, readTopic, TEST_TUNING } from '../support/mirror-fixture';

jest.setTimeout(90_000);

const A = testCluster('A');
const B = testCluster('B');
const kafkaA = kafkaFor(A);
const kafkaB = kafkaFor(B);

/** Group `groupId` consumes `limit` records of `topic` (partition by partition), commits what it consumed and leaves. */
async function consumeAndCommit(kafka: Kafka, groupId: string, topic: string, limit: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, maxBytesPerPartition: 16 * 1024 });
  const values: string[] = [];
  const next = new Map<number, string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`group ${groupId} consumed only ${values.length}/${limit}`)), 30_000);
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message, pause }) => {
          if (values.length >= limit) {
            pause();
            return;
          }
          values.push(message.value!.toString());
          next.set(partition, (BigInt(message.offset) + 1n).toString());
          if (values.length === limit) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.commitOffsets([...next].map(([partition, offset]) => ({ topic, partition, offset })));
  } finally {
    await consumer.disconnect();
  }
  return values;
}

describe('consumer-group offset translation', () => {
  let runner: MirrorRunner | undefined;
  afterEach(async () => {
    await runner?.stop();
  });

  it('a group that consumed N records on A resumes on B at the translated offset without missing a record', async () => {
    const ns = uniqueTopic('mirror-groups');
    const topic = `${ns}.orders`;
    const group = `${ns}-billing`;
    const target = `A.${topic}`;
    await createTopic(kafkaA, topic, 3);
    const first = await produceRecords(kafkaA, topic, { count: 3000, partitions: 3, tag: 'g', chunk: 100 });
    // As `wal start` runs it: the namespace config asks for the sync, no library option.
    const { config, namespace } = mirrorConfig([A, B], { namespace: ns, source: 'A', target: 'B', topics: [topic], groups: [group], checkpointIntervalMs: 1000, syncGroupOffsets: true });
    runner = new MirrorRunner({ config, namespace, instanceId: 'test', tuning: TEST_TUNING });
    await runner.start();
    await readTopic(kafkaB, target, (r) => r.length >= 3000, 45_000);

    const N = 1234;
    const consumedOnA = await consumeAndCommit(kafkaA, group, topic, N);
    // More records after the group stopped on A: after failing over, it must read them on B.
    const later = await produceRecords(kafkaA, topic, { count: 600, partitions: 3, tag: 'g', chunk: 100, start: 3000 });

    // The translated offsets land in the idle group on B.
    const applied = await eventually(
      async () => {
        const admin = kafkaB.admin();
        await admin.connect();
        try {
          const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [target] });
          const committed = offsets.partitions.map((p) => Number(p.offset));
          return committed.every((o) => o >= 0) ? committed : undefined;
        } finally {
          await admin.disconnect();
        }
      },
      30_000,
      `translated offsets of ${group} on B`,
    );
    const checkpoints = await readTopic(kafkaB, 'A.checkpoints.internal', (r) => r.some((x) => x.message.key!.toString().includes(`"${group}"`)), 20_000);
    const ours = checkpoints.filter((x) => JSON.parse(x.message.key!.toString()).group === group);
    expect(JSON.parse(ours[0].message.key!.toString())).toMatchObject({ group, topic: target });
    expect(JSON.parse(ours[0].message.value!.toString())).toMatchObject({ sourceCluster: 'A', sourceTopic: topic });

    // The same group on B resumes where the translation put it.
    const all = [...first, ...later].map((r) => r.value);
    const notYetConsumed = new Set(all.filter((v) => !consumedOnA.includes(v)));
    const missing = new Set(notYetConsumed);
    let scanned = 0;
    const onB = await readTopic(
      kafkaB,
      target,
      (records) => {
        for (; scanned < records.length; scanned++) missing.delete(records[scanned].message.value!.toString());
        return missing.size === 0;
      },
      30_000,
      { groupId: group, settleMs: 500 },
    );
    const reread = onB.filter((r) => consumedOnA.includes(r.message.value!.toString())).length;
    process.stdout.write(
      `group consumed ${N} on A; translated offsets on B ${applied.join('/')} (sum ${applied.reduce((a, b) => a + b, 0)}); ` +
        `on B it read ${onB.length} records: ${notYetConsumed.size} new, ${reread} re-read\n`,
    );
    expect(missing.size).toBe(0);
    const metrics = await metricsRegistry.getMetricsAsJSON();
    const applied_ = metrics.find((m) => m.name === 'wal_mirror_group_offsets_applied_total')?.values.find((v) => v.labels.group === group && v.labels.namespace === ns);
    expect(applied_?.value).toBeGreaterThanOrEqual(3);
    const syncedAt = metrics.find((m) => m.name === 'wal_mirror_group_offsets_synced_timestamp_seconds')?.values.find((v) => v.labels.namespace === ns);
    expect(syncedAt?.value).toBeGreaterThan(Date.now() / 1000 - 120);
    // Translation moved the group: it did not start over from the beginning of the copy.
    expect(reread).toBeLessThan(N / 2);
    expect(applied.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(N - reread);
  });
});
