import Redis from 'ioredis';
import type { RedisTargetConfig } from '../../src/namespaces/types';
import { createTarget, Delivery, MutationDelivery, SEQUENCE_SUFFIX, Target, TargetMutation } from '../../src/targets';
import { RedisServer, startRedis } from '../support/redis';

const put = (key: string, value: string, sequence: number): TargetMutation => ({ key, op: 'PUT', value: Buffer.from(value), sequence });
const del = (key: string, sequence: number): TargetMutation => ({ key, op: 'DELETE', value: null, sequence });
const chunk = (mutations: TargetMutation[]): MutationDelivery => ({ txnId: 'txn-1', chunkIndex: 0, mutations });

describe('Redis target', () => {
  let server: RedisServer;
  let redis: Redis;
  let target: Target;
  let prefix: string;
  let n = 0;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url, { lazyConnect: true });
    await redis.connect();
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  beforeEach(() => {
    prefix = `t${++n}:`;
    target = redisTarget({ ttlSeconds: 60 });
  });
  afterEach(async () => {
    await target.close();
  });

  function redisTarget(overrides: Partial<RedisTargetConfig> = {}): Target {
    return createTarget('cache', { type: 'redis', url: server.url, keyPrefix: prefix, ...overrides }, {});
  }

  it('sets values with the configured TTL, and deletes them', async () => {
    expect(await target.applyMutations!(chunk([put('a', 'A1', 1), put('b', 'B1', 1)]))).toEqual({ ok: true });

    expect(await redis.get(`${prefix}a`)).toBe('A1');
    const ttl = await redis.ttl(`${prefix}a`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await redis.ttl(`${prefix}a${SEQUENCE_SUFFIX}`)).toBeGreaterThan(0);

    expect(await target.applyMutations!(chunk([del('a', 2)]))).toEqual({ ok: true });
    expect(await redis.exists(`${prefix}a`)).toBe(0);
    expect(await redis.get(`${prefix}b`)).toBe('B1');
  });

  it('stores values without expiry when no TTL is configured', async () => {
    await target.close();
    target = redisTarget({ ttlSeconds: undefined });

    await target.applyMutations!(chunk([put('k', 'v', 1)]));

    expect(await redis.ttl(`${prefix}k`)).toBe(-1);
  });

  it('never lets an older sequence overwrite a newer one, nor resurrect a deleted key', async () => {
    await target.applyMutations!(chunk([put('k', 'new', 5), put('gone', 'x', 3), del('gone', 5)]));

    expect(await target.applyMutations!(chunk([put('k', 'old', 3), put('gone', 'late', 4)]))).toEqual({ ok: true });

    expect(await redis.get(`${prefix}k`)).toBe('new');
    expect(await redis.exists(`${prefix}gone`)).toBe(0);
    expect(await redis.get(`${prefix}gone${SEQUENCE_SUFFIX}`)).toBe('5');
  });

  it('is idempotent: re-applying a chunk leaves the same keys and values', async () => {
    const same = chunk([put('a', 'A', 1), put('b', 'B', 2), del('a', 3), put('c', Buffer.from([0, 255, 1]).toString('latin1'), 4)]);
    await target.applyMutations!(same);
    const snapshot = async (): Promise<Record<string, string | null>> => {
      const keys = (await redis.keys(`${prefix}*`)).sort();
      return Object.fromEntries(await Promise.all(keys.map(async (k) => [k, await redis.get(k)] as const)));
    };
    const once = await snapshot();

    expect(await target.applyMutations!(same)).toEqual({ ok: true });

    expect(await snapshot()).toEqual(once);
    expect(Object.keys(once)).toEqual([`${prefix}a${SEQUENCE_SUFFIX}`, `${prefix}b`, `${prefix}b${SEQUENCE_SUFFIX}`, `${prefix}c`, `${prefix}c${SEQUENCE_SUFFIX}`]);
  });

  it('stores binary values byte for byte', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await target.applyMutations!(chunk([{ key: 'bin', op: 'PUT', value: bytes, sequence: 1 }]));
    expect(await redis.getBuffer(`${prefix}bin`)).toEqual(bytes);
  });

  it('delivers payloads under their delivery id', async () => {
    const d: Delivery = { id: 'req-1', key: null, payload: Buffer.from('hello'), headers: {}, contentType: 'text/plain', attempt: 1 };

    expect(await target.deliver([d, { ...d, id: 'req-2' }])).toEqual([{ ok: true }, { ok: true }]);

    expect(await redis.mget(`${prefix}req-1`, `${prefix}req-2`)).toEqual(['hello', 'hello']);
    expect(await redis.ttl(`${prefix}req-1`)).toBeGreaterThan(0);
  });

  it('answers a key of the wrong type as permanent', async () => {
    await redis.hset(`${prefix}k${SEQUENCE_SUFFIX}`, 'f', 'v');

    const result = await target.applyMutations!(chunk([put('k', 'v', 1)]));

    expect(result).toMatchObject({ ok: false, retriable: false, reason: expect.stringContaining('WRONGTYPE') });
  });

  it('answers retriable while Redis is down, and applies once it is back', async () => {
    await target.applyMutations!(chunk([put('k', 'v1', 1)]));
    await server.halt();
    try {
      const started = Date.now();
      const during = await target.applyMutations!(chunk([put('k', 'v2', 2)]));
      expect(during).toMatchObject({ ok: false, retriable: true });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await server.resume();
    }

    await expect(waitForOk(() => target.applyMutations!(chunk([put('k', 'v2', 2)])))).resolves.toEqual({ ok: true });
    redis.disconnect();
    redis = new Redis(server.url);
    expect(await redis.get(`${prefix}k`)).toBe('v2');
  });
});

/** The client reconnects on its own schedule; give it a few seconds after a restart. */
async function waitForOk<T extends { ok: boolean }>(attempt: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await attempt();
    if (result.ok || Date.now() > deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
