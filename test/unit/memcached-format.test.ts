import { decodeCacheEntry, readCacheValue, type MemcachedTargetConfig } from '../../src';
import { createTarget } from '../../src/targets';
import {
  encodeCacheEntry,
  ENTRY_HEADER_BYTES,
  invalidKeyReason,
  memcachedExpiry,
  oversizeReason,
} from '../../src/targets/memcached-format';

describe('memcached entry format', () => {
  it('lays a value out as magic, version, kind, 64-bit big-endian sequence, then the bytes', () => {
    const bytes = encodeCacheEntry(258, Buffer.from('hi'));

    expect(bytes.toString('hex')).toBe(['0077616c', '01', '00', '0000000000000102', Buffer.from('hi').toString('hex')].join(''));
    expect(bytes.length).toBe(ENTRY_HEADER_BYTES + 2);
  });

  it('round-trips values (binary and empty included) and tombstones', () => {
    const binary = Buffer.from([0, 255, 1, 0x77]);
    expect(decodeCacheEntry(encodeCacheEntry(7, binary))).toEqual({ kind: 'value', sequence: 7, value: binary });
    expect(decodeCacheEntry(encodeCacheEntry(0, Buffer.alloc(0)))).toEqual({ kind: 'value', sequence: 0, value: Buffer.alloc(0) });
    expect(decodeCacheEntry(encodeCacheEntry(9, null))).toEqual({ kind: 'tombstone', sequence: 9 });
    expect(encodeCacheEntry(9, null).length).toBe(ENTRY_HEADER_BYTES);
  });

  it('keeps the order of large and negative sequences', () => {
    for (const sequence of [Number.MAX_SAFE_INTEGER, -5, 2 ** 40 + 3]) {
      expect(decodeCacheEntry(encodeCacheEntry(sequence, null))).toEqual({ kind: 'tombstone', sequence });
    }
    expect(() => encodeCacheEntry(1.5, null)).toThrow(RangeError);
  });

  it('does not take plain bytes, another version or a malformed tombstone for an entry', () => {
    expect(decodeCacheEntry(Buffer.from('{"name":"Grace"}'))).toBeUndefined();
    expect(decodeCacheEntry(Buffer.alloc(0))).toBeUndefined();
    const otherVersion = encodeCacheEntry(1, Buffer.from('x'));
    otherVersion[4] = 2;
    expect(decodeCacheEntry(otherVersion)).toBeUndefined();
    const tombstoneWithBody = Buffer.concat([encodeCacheEntry(1, null), Buffer.from('x')]);
    expect(decodeCacheEntry(tombstoneWithBody)).toBeUndefined();
  });

  it('gives a reader the value, null for a miss or a tombstone, and a plain delivery unchanged', () => {
    expect(readCacheValue(encodeCacheEntry(3, Buffer.from('v')))).toEqual(Buffer.from('v'));
    expect(readCacheValue(encodeCacheEntry(3, null))).toBeNull();
    expect(readCacheValue(null)).toBeNull();
    expect(readCacheValue(Buffer.from('plain payload'))).toEqual(Buffer.from('plain payload'));
  });
});

describe('memcached expiry, keys and item size', () => {
  const now = Date.UTC(2026, 11, 3, 10, 0, 0);

  it('sends a TTL of up to 30 days as seconds and a longer one as a Unix time, 0 as never', () => {
    expect(memcachedExpiry(0, now)).toBe(0);
    expect(memcachedExpiry(2000, now)).toBe(2);
    expect(memcachedExpiry(30 * 86_400_000, now)).toBe(30 * 86_400);
    expect(memcachedExpiry(31 * 86_400_000, now)).toBe(now / 1000 + 31 * 86_400);
  });

  it('refuses keys memcached or its text-protocol readers cannot take', () => {
    expect(invalidKeyReason('account:7')).toBeNull();
    expect(invalidKeyReason('k'.repeat(250))).toBeNull();
    expect(invalidKeyReason('k'.repeat(251))).toMatch(/251 bytes long, over memcached's limit of 250/);
    expect(invalidKeyReason('é'.repeat(126))).toMatch(/252 bytes/);
    expect(invalidKeyReason('has space')).toMatch(/whitespace or a control character/);
    expect(invalidKeyReason('tab\there')).toMatch(/whitespace/);
    expect(invalidKeyReason('nul\u0000')).toMatch(/control character/);
    expect(invalidKeyReason('')).toMatch(/empty/);
  });

  it('tells when key, value and item overhead go over the item size limit', () => {
    expect(oversizeReason('k', 1000, 1024 * 1024)).toBeNull();
    expect(oversizeReason('k', 1024 * 1024 - 65, 1024 * 1024)).toBeNull();
    expect(oversizeReason('k', 1024 * 1024 - 64, 1024 * 1024)).toMatch(/over the item size limit of 1048576 \(target maxItemSize; memcached -I\)/);
  });
});

describe('memcached target without a server', () => {
  const config: MemcachedTargetConfig = { type: 'memcached', servers: ['127.0.0.1:9'], keyPrefix: 'p:', ttl: 0, tombstoneTtl: 60_000, maxItemSize: 1024, timeoutMs: 200, connectTimeoutMs: 200 };

  it('refuses a bad key or an oversize value at once, as permanent, without connecting', async () => {
    const target = createTarget('cache', config, {});
    const results = await target.deliver([
      { id: 'has space', key: null, payload: Buffer.from('x'), headers: {}, contentType: 'text/plain', attempt: 1 },
      { id: 'big', key: null, payload: Buffer.alloc(2048), headers: {}, contentType: 'text/plain', attempt: 1 },
    ]);
    expect(results).toEqual([
      { ok: false, retriable: false, reason: expect.stringMatching(/whitespace/) },
      { ok: false, retriable: false, reason: expect.stringMatching(/over the item size limit of 1024/) },
    ]);
    const applied = await target.applyMutations!({ txnId: 't', chunkIndex: 0, mutations: [{ key: 'k', op: 'PUT', value: Buffer.alloc(2048), sequence: 1 }] });
    expect(applied).toMatchObject({ ok: false, retriable: false, reason: expect.stringMatching(/"p:k" would take/) });
    await target.close();
  });

  it('answers retriable, naming the server, when nothing listens', async () => {
    const target = createTarget('cache', config, {});
    const applied = await target.applyMutations!({ txnId: 't', chunkIndex: 0, mutations: [{ key: 'k', op: 'DELETE', value: null, sequence: 1 }] });
    expect(applied).toMatchObject({ ok: false, retriable: true, reason: expect.stringContaining('127.0.0.1:9') });
    await target.close();
  });
});
