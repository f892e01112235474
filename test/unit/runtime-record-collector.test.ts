import type { RecordMetadata, TopicMessages } from 'kafkajs';
import { RecordCollector } from '../../src/engine/internals/record-collector';

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

  it('splits a flush larger than its byte limit into requests sent in order, acknowledging the last offset', async () => {
    const collector = new RecordCollector({ maxBytes: 1000, maxRecords: 100_000 });
    const acked: string[] = [];
    collector.onAcknowledged('cl', 0, (next) => acked.push(next));
    // A mass dead-lettering: 10 sink records of ~300 bytes, then 10 changelog tombstones.
    for (let i = 0; i < 10; i += 1) collector.send('dlq', { key: Buffer.from(`k${i}`), value: Buffer.alloc(300) }, 1);
    for (let i = 0; i < 10; i += 1) collector.sendChangelog('cl', 0, Buffer.from(`k${i}`), null);
    collector.send('huge', { key: null, value: Buffer.alloc(5000) }, 1);
    const requests: { topic: string; keys: string[] }[][] = [];
    let nextOffset = 100;
    await collector.flush(async (batch) => {
      requests.push(batch.map((t) => ({ topic: t.topic, keys: t.messages.map((m) => String(m.key)) })));
      return batch.map((t) => {
        const base = nextOffset;
        nextOffset += t.messages.length;
        return { topicName: t.topic, partition: 0, errorCode: 0, baseOffset: String(base) };
      });
    });
    const bytes = (r: { topic: string; keys: string[] }[]): number => r.reduce((n, t) => n + t.keys.length * (t.topic === 'dlq' ? 366 : t.topic === 'cl' ? 66 : 5066), 0);
    // Every request fits the limit except the one record that is larger on its own.
    for (const r of requests) if (!(r.length === 1 && r[0].topic === 'huge')) expect(bytes(r)).toBeLessThanOrEqual(1000);
    expect(requests.length).toBeGreaterThan(3);
    // Sinks all go before any changelog record, and each topic keeps its order across requests.
    const flat = requests.flat();
    expect(flat.findIndex((t) => t.topic === 'cl')).toBeGreaterThan(flat.map((t) => t.topic).lastIndexOf('dlq'));
    expect(flat.filter((t) => t.topic === 'dlq').flatMap((t) => t.keys)).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
    expect(flat.filter((t) => t.topic === 'cl').flatMap((t) => t.keys)).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
    // The changelog partition is durable up to its last record: base offset of the last request + its count.
    expect(acked[acked.length - 1]).toBe(String(nextOffset));
  });
});
