import { TopologyBuilder, type WalRecord } from '../../src/engine';
import { INTAKE_HEADERS } from '../../src/wire/headers';
import { collect, configFile, delayedQueueNamespace, headerMap, startQueue } from '../support/delayed-queue';
import { eventually } from '../support/mirror-fixture';
import { runWal } from '../support/wal-cli';

jest.setTimeout(120_000);

describe('a record dead-lettered by the engine (its processor threw)', () => {
  it('shows in `wal dlq list` with its reason and kind, and `wal dlq replay` puts the original back on the intake', async () => {
    const { config, namespace, kafka } = await delayedQueueNamespace({ partitions: 1 });
    let broken = true;
    const processed: WalRecord[] = [];
    const topology = new TopologyBuilder()
      .addSource('intake', namespace.topics.intake)
      .addProcessor('picky', () => ({
        process: (record: WalRecord) => {
          if (broken) throw new RangeError(`cannot handle ${record.key?.toString()}`);
          processed.push(record);
        },
      }), 'intake')
      .setDeadLetterTopic(namespace.topics.dlq)
      .build();
    const { runner } = await startQueue(config, namespace, { topology });
    try {
      const original = { [INTAKE_HEADERS.id]: 'odd-1', tenant: 'acme' };
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: namespace.topics.intake, messages: [{ key: 'odd-1', value: Buffer.from([0, 1, 2, 0xff]), headers: original }] });
      await producer.disconnect();

      const dlq = await collect(kafka, namespace.topics.dlq);
      await dlq.waitFor(1, 30_000);
      await dlq.stop();

      const cli = ['--namespace', namespace.name, '--topology', configFile(config)];
      const listed = await runWal('dlq', ['list', ...cli], 60_000);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/id=odd-1 {2}kind=error \(RangeError\) {2}attempts=1 {2}target=-\n {4}reason: cannot handle odd-1\n/);
      expect(listed.stdout).toContain(`from ${namespace.topics.intake}[0]@0, failures `);
      expect(listed.stdout).toContain(`1 record(s) in ${namespace.topics.dlq}`);

      broken = false;
      const replay = await runWal('dlq', ['replay', ...cli], 60_000);
      expect(replay).toMatchObject({ code: 0, stdout: expect.stringContaining(`replayed 1 record(s) to ${namespace.topics.intake}`) });

      // Back on the intake as it was first written: same key, bytes and headers, none of the DLQ's.
      const intake = await collect(kafka, namespace.topics.intake);
      await intake.waitFor(2, 10_000);
      await intake.stop();
      const [first, again] = intake.messages;
      expect(again.key).toEqual(first.key);
      expect(again.value).toEqual(first.value);
      expect(headerMap(again)).toEqual(original);

      // And the engine processes it this time.
      const reprocessed = await eventually(async () => processed[0], 30_000, 'the replayed record processed');
      expect(processed).toHaveLength(1);
      expect(reprocessed).toMatchObject({ key: Buffer.from('odd-1'), value: Buffer.from([0, 1, 2, 0xff]), headers: original, offset: '1' });
    } finally {
      await runner.stop();
    }
  });
});
