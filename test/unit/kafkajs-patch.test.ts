const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition') as (args: {
  topic: string;
  partitionMetadata: { partitionId: number }[];
  messages: { key: string; partition: number }[];
  partitioner: (args: { message: { partition: number } }) => number;
}) => Record<number, { key: string }[]>;
import { readFileSync } from 'node:fs';

describe('kafkajs as patched on install (patches/kafkajs+2.2.4.patch)', () => {
  it('carries the linear grouping: npm install ran patch-package', () => {
    const source = readFileSync(require.resolve('kafkajs/src/producer/groupMessagesPerPartition'), 'utf8');
    expect(source).toContain('Patched by wal');
    expect(source).not.toContain('[partition]: [...current, message]');
  });

  it('groups a produce by partition keeping each partition\'s order, as the original did', () => {
    const messages = Array.from({ length: 20_000 }, (_, i) => ({ key: `k${i}`, partition: i % 3 === 0 ? 2 : 0 }));
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: [{ partitionId: 0 }, { partitionId: 1 }, { partitionId: 2 }],
      messages,
      partitioner: ({ message }) => message.partition,
    });
    expect(Object.keys(grouped).sort()).toEqual(['0', '2']);
    expect(grouped[2].map((m) => m.key)).toEqual(messages.filter((m) => m.partition === 2).map((m) => m.key));
    expect(grouped[0].map((m) => m.key)).toEqual(messages.filter((m) => m.partition === 0).map((m) => m.key));
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 })).toEqual({});
  });
});
