import { messageBytes, splitByBytes } from '../../src/kafka/request-size';

describe('request sizes', () => {
  it('counts key, value, every header value (repeated ones too) and a per-record overhead', () => {
    expect(messageBytes({ key: null, value: null })).toBe(64);
    expect(messageBytes({ key: 'ké', value: Buffer.alloc(10) })).toBe(3 + 10 + 64);
    expect(messageBytes({ key: null, value: 'v', headers: { ab: 'xyz', c: Buffer.alloc(4), d: ['1', Buffer.alloc(2)], e: undefined } })).toBe(1 + 64 + (2 + 3) + (1 + 4) + (1 + 1) + (1 + 2) + 1);
  });

  it('splits in order into runs of at most the limit, an oversize item alone', () => {
    expect(splitByBytes([3, 3, 3, 9, 1, 1], (n) => n, 6)).toEqual([[3, 3], [3], [9], [1, 1]]);
    expect(splitByBytes([], (n: number) => n, 6)).toEqual([]);
  });
});
