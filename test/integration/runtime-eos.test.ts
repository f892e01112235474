import { Kafka, logLevel } from 'kafkajs';
import { TaskMigratedError } from '../../src/engine';
import { exactlyOnceOutput } from '../../src/engine/internals/task-output';
import { testCluster, uniqueTopic } from '../support/clusters';
import { consumeUntil, createTopics } from '../support/runtime-fixtures/topics';

jest.setTimeout(60_000);

const cluster = testCluster('A');
const kafka = new Kafka({ clientId: 'runtime-eos-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING });

describe('exactly-once task output (one transactional id per task)', () => {
  it('fences the previous owner: its open transaction is aborted and its commit fails with TaskMigratedError', async () => {
    const topic = uniqueTopic('eos-out');
    const marker = uniqueTopic('eos-marker');
    await createTopics(kafka, [
      { topic, partitions: 1 },
      { topic: marker, partitions: 1 },
    ]);
    const groupId = uniqueTopic('eos-group');
    const transactionalId = `${groupId}-0`;

    const zombie = exactlyOnceOutput(kafka, transactionalId, groupId);
    await zombie.open();
    await zombie.send([{ topic, messages: [{ key: 'k', value: 'from the zombie' }] }]);

    // The partition moved: the new owner claims the same transactional id.
    const owner = exactlyOnceOutput(kafka, transactionalId, groupId);
    await owner.open();
    await owner.send([{ topic, messages: [{ key: 'k', value: 'from the owner' }] }]);
    await owner.commit([{ topic: marker, partition: 0, offset: '0' }]);

    // Once the owner's commit markers are written (its record is visible to read_committed readers),
    // the zombie is told it was fenced.
    const records = await consumeUntil(kafka, topic, (r) => r.length >= 1, 20_000);
    expect(records.map((r) => r.value?.toString())).toEqual(['from the owner']);
    const error = await zombie.commit([{ topic: marker, partition: 0, offset: '0' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskMigratedError);
    await zombie.close();
    await owner.close();
    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [marker] });
    await admin.disconnect();
    expect(offsets.partitions[0].offset).toBe('0');
  });
});
