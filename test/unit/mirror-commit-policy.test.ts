import { commitDelay, type CommitPolicy } from '../../src/mirror/commit-policy';
import { requestsFor } from '../../src/mirror/target-writer';

const policy: CommitPolicy = { lingerMs: 100, maxRecords: 1000 };
const open = (over: Partial<Parameters<typeof commitDelay>[0]> = {}) => ({ joined: 1, announced: 0, records: 10, openedAt: 5000, ...over });

describe('exactly-once commit policy', () => {
  it('commits at once when every announced batch has joined', () => {
    expect(commitDelay(open({ joined: 4, announced: 0 }), 5000, policy)).toBe(0);
  });

  it('waits for announced batches, at most the linger after the transaction opened', () => {
    expect(commitDelay(open({ announced: 2 }), 5030, policy)).toBe(70);
    expect(commitDelay(open({ announced: 2 }), 5100, policy)).toBe(0);
    expect(commitDelay(open({ announced: 2 }), 9000, policy)).toBe(0);
  });

  it('commits a transaction that reached maxRecords without waiting', () => {
    expect(commitDelay(open({ announced: 3, records: 1000 }), 5000, policy)).toBe(0);
  });

  it('never commits a transaction nobody joined', () => {
    expect(commitDelay(open({ joined: 0, announced: 0 }), 9000, policy)).toBe(Infinity);
  });
});

describe('produce requests of one transaction', () => {
  const msgs = (n: number, bytes: number) => Array.from({ length: n }, () => ({ value: Buffer.alloc(bytes) }));

  it('puts chunk k of every partition-preserving batch into request k', () => {
    // 10 messages of ~164 bytes: 6 fit in 1000 bytes, so two chunks each.
    const requests = requestsFor([{ messages: msgs(10, 100), targetPartition: 0 }, { messages: msgs(3, 100), targetPartition: 1 }, { messages: msgs(10, 100), targetPartition: 2 }], 1000);
    expect(requests).toEqual([
      [
        { index: 0, from: 0, to: 6 },
        { index: 1, from: 0, to: 3 },
        { index: 2, from: 0, to: 6 },
      ],
      [
        { index: 0, from: 6, to: 10 },
        { index: 2, from: 6, to: 10 },
      ],
    ]);
  });

  it('sends the chunks of a batch partitioned by key alone (it may share target partitions with others)', () => {
    const requests = requestsFor([{ messages: msgs(8, 100) }, { messages: msgs(2, 100), targetPartition: 1 }], 1000);
    expect(requests).toEqual([[{ index: 1, from: 0, to: 2 }], [{ index: 0, from: 0, to: 6 }], [{ index: 0, from: 6, to: 8 }]]);
  });
});
