import { ConfigResourceTypes, type Kafka } from 'kafkajs';
import { MirrorRunner } from '../../src/mirror';
import { testCluster, uniqueTopic } from '../support/clusters';
import { createTopic, eventually, kafkaFor, mirrorConfig, TEST_TUNING, waitForTopic } from '../support/mirror-fixture';

jest.setTimeout(90_000);

/** The mirror keeps a target topic's shape in step with its source: partitions grow, copied configs follow. */
const A = testCluster('A');
const B = testCluster('B');
const kafkaA = kafkaFor(A);
const kafkaB = kafkaFor(B);

async function shape(kafka: Kafka, topic: string): Promise<{ partitions: number; configs: Record<string, string> }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
    const configs = Object.fromEntries(resources[0].configEntries.filter((e) => !e.isDefault).map((e) => [e.configName, e.configValue]));
    return { partitions: topics[0].partitions.length, configs };
  } finally {
    await admin.disconnect();
  }
}

describe('topic configuration sync', () => {
  let runner: MirrorRunner | undefined;
  afterEach(async () => {
    await runner?.stop();
  });

  it('adds partitions the source gained and follows its retention and size configs, leaving the target’s own overrides alone', async () => {
    const ns = uniqueTopic('mirror-topic-sync');
    const topic = `${ns}.orders`;
    const target = `A.${topic}`;
    await createTopic(kafkaA, topic, 2, { 'retention.ms': '86400000' });
    const { config, namespace } = mirrorConfig([A, B], { namespace: ns, source: 'A', target: 'B', topics: [topic] });
    runner = new MirrorRunner({ config, namespace, instanceId: 'test', tuning: TEST_TUNING });
    await runner.start();
    await waitForTopic(kafkaB, target, 30_000);
    expect(await shape(kafkaB, target)).toMatchObject({ partitions: 2, configs: { 'retention.ms': '86400000' } });

    // An operator's own override on B survives the sync.
    const adminB = kafkaB.admin();
    await adminB.connect();
    await adminB.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: target, configEntries: [{ name: 'cleanup.policy', value: 'delete' }, { name: 'retention.ms', value: '86400000' }, { name: 'segment.ms', value: '600000' }] }] });
    await adminB.disconnect();

    const adminA = kafkaA.admin();
    await adminA.connect();
    try {
      await adminA.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
      await adminA.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '3600000' }, { name: 'max.message.bytes', value: '2000000' }] }] });
    } finally {
      await adminA.disconnect();
    }
    const synced = await eventually(
      async () => {
        const now = await shape(kafkaB, target);
        return now.partitions === 3 && now.configs['retention.ms'] === '3600000' && now.configs['max.message.bytes'] === '2000000' ? now : undefined;
      },
      30_000,
      `${target} to follow the source's partitions and configs`,
    );
    expect(synced.configs['segment.ms']).toBe('600000');
  });
});
