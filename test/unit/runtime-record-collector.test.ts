import type { RecordMetadata, TopicMessages } from 'kafkajs';
import { RecordCollector } from '../../src/runtime/internals/record-collector';

describe('RecordCollector', () => {
  it('sends sink records before changelog records, and reports changelog offsets acknowledged', async () => {
    const collector = new RecordCollector();
    const acked: string[] = [];
    collector.onAcknowledged('cl', 1, (next) => acked.push(next));
    collector.sendChangelog('cl', 1, Buffer.from('k'), Buffer.from('1'));
    collector.send('out', { key: Buffer.from('k'), value: Buffer.from('1') }, 1000);
    collector.sendChangelog('cl', 1, Buffer.from('k'), null);
    const calls: string[][] = [];
    await collector.flush(async (batch: TopicMessages[]): Promise<RecordMetadata[]> => {
      calls.push(batch.map((t) => `${t.topic}:${t.messages.length}`));
      return batch.map((t) => ({ topicName: t.topic, partition: 1, errorCode: 0, baseOffset: '40' }));
    });
    expect(calls).toEqual([['out:1'], ['cl:2']]);
    expect(acked).toEqual(['42']);
    expect(collector.size).toBe(0);
  });

  it('does not send changelog records when the sink send fails', async () => {
    const collector = new RecordCollector();
    collector.sendChangelog('cl', 0, Buffer.from('k'), Buffer.from('1'));
    collector.send('out', { key: null, value: Buffer.from('v') }, 1);
    const topics: string[] = [];
    await expect(
      collector.flush(async (batch) => {
        topics.push(...batch.map((t) => t.topic));
        throw new Error('broker gone');
      }),
    ).rejects.toThrow('broker gone');
    expect(topics).toEqual(['out']);
  });

  it('asks for a flush once its byte or record limit is reached', () => {
    const collector = new RecordCollector({ maxBytes: 1000, maxRecords: 3 });
    collector.send('out', { key: null, value: Buffer.alloc(10) }, 1);
    expect(collector.shouldFlush()).toBe(false);
    collector.send('out', { key: null, value: Buffer.alloc(2000) }, 1);
    expect(collector.shouldFlush()).toBe(true);
  });
});
