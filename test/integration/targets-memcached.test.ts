import { Client, Utils } from 'memjs';
import type { MemcachedTargetConfig } from '../../src/namespaces/types';
import { createTarget, decodeCacheEntry, Delivery, MutationDelivery, readCacheValue, Target, TargetMutation, type CacheEntry } from '../../src/targets';
import { MemcachedServer, startMemcached } from '../support/memcached';
import { seeded } from '../support/mutations';

const put = (key: string, value: string, sequence: number): TargetMutation => ({ key, op: 'PUT', value: Buffer.from(value), sequence });
const del = (key: string, sequence: number): TargetMutation => ({ key, op: 'DELETE', value: null, sequence });
const chunk = (mutations: TargetMutation[]): MutationDelivery => ({ txnId: 'txn-1', chunkIndex: 0, mutations });
const delivery = (id: string, payload: string, key: string | null = null): Delivery => ({
  id,
  key: key === null ? null : Buffer.from(key),
  payload: Buffer.from(payload),
  headers: {},
  contentType: 'text/plain',
  attempt: 1,
});

/** A plain memjs reader, as an application reading the cache would have. */
function reader(servers: string[]): Client {
  return Client.create(servers.join(','), { retries: 1, timeout: 1, logger: { log: () => undefined } });
}

describe('memcached target on a real memcached', () => {
  let server: MemcachedServer;
  let cache: Client;
  const targets: Target[] = [];
  let prefix: string;
  let n = 0;

  beforeAll(async () => {
    server = await startMemcached();
    cache = reader([server.address]);
  });
  afterAll(async () => {
    cache?.close();
    await server?.stop();
  });
  beforeEach(() => {
    prefix = `t${++n}:`;
  });
  afterEach(async () => {
    await Promise.all(targets.splice(0).map((t) => t.close()));
  });

  function memcachedTarget(overrides: Partial<MemcachedTargetConfig> = {}): Target {
    const config: MemcachedTargetConfig = {
      type: 'memcached',
      servers: [server.address],
      keyPrefix: prefix,
      ttl: 60_000,
      tombstoneTtl: 60_000,
      maxItemSize: 1024 * 1024,
      timeoutMs: 1000,
      connectTimeoutMs: 1000,
      ...overrides,
    };
    const target = createTarget('cache', config, {});
    targets.push(target);
    return target;
  }
  const raw = async (key: string, client = cache): Promise<Buffer | null> => (await client.get(`${prefix}${key}`)).value;
  const entry = async (key: string): Promise<CacheEntry | null | undefined> => {
    const bytes = await raw(key);
    return bytes === null ? null : decodeCacheEntry(bytes);
  };

  it('sets values and turns a delete into a tombstone a reader sees as a miss', async () => {
    const target = memcachedTarget();
    expect(await target.applyMutations!(chunk([put('a', 'A1', 1), put('b', 'B1', 1)]))).toEqual({ ok: true });

    expect(await entry('a')).toEqual({ kind: 'value', sequence: 1, value: Buffer.from('A1') });
    expect(readCacheValue(await raw('b'))).toEqual(Buffer.from('B1'));

    expect(await target.applyMutations!(chunk([del('a', 2)]))).toEqual({ ok: true });
    expect(await entry('a')).toEqual({ kind: 'tombstone', sequence: 2 });
    expect(readCacheValue(await raw('a'))).toBeNull();
    expect(readCacheValue(await raw('b'))).toEqual(Buffer.from('B1'));
  });

  it('lets values expire after the configured TTL, and tombstones after theirs (then an older PUT passes)', async () => {
    const target = memcachedTarget({ ttl: 1000, tombstoneTtl: 1000 });
    await target.applyMutations!(chunk([put('v', 'short-lived', 1), del('gone', 9)]));
    expect(readCacheValue(await raw('v'))).toEqual(Buffer.from('short-lived'));
    expect(await entry('gone')).toEqual({ kind: 'tombstone', sequence: 9 });
    // While the tombstone lives, an older PUT is refused.
    await target.applyMutations!(chunk([put('gone', 'late', 4)]));
    expect(await entry('gone')).toEqual({ kind: 'tombstone', sequence: 9 });

    // memcached counts whole seconds: a 1 s item is gone within 2 s; wait at most 5.
    const started = Date.now();
    while ((await raw('v')) !== null && Date.now() - started < 5000) await sleep(100);
    expect(await raw('v')).toBeNull();
    expect(await raw('gone')).toBeNull();
    expect(Date.now() - started).toBeLessThan(5000);

    // The trade-off of an expiring tombstone: past it, the late PUT is taken.
    await target.applyMutations!(chunk([put('gone', 'late', 4)]));
    expect(await entry('gone')).toEqual({ kind: 'value', sequence: 4, value: Buffer.from('late') });
  });

  it('stores without expiry when the TTL is 0', async () => {
    const target = memcachedTarget({ ttl: 0 });
    await target.applyMutations!(chunk([put('forever', 'x', 1)]));
    await target.deliver([delivery('req-forever', 'y')]);
    // Stats of the item are not exposed by memcached per key; wait past a 1 s expiry to see it stay.
    await sleep(2100);
    expect(readCacheValue(await raw('forever'))).toEqual(Buffer.from('x'));
    expect(await raw('req-forever')).toEqual(Buffer.from('y'));
  });

  it('never lets an older sequence overwrite a newer one, takes a replay as a no-op, and keeps deleted keys deleted', async () => {
    const target = memcachedTarget();
    expect(await target.applyMutations!(chunk([put('k', 'five', 5)]))).toEqual({ ok: true });
    expect(await target.applyMutations!(chunk([put('k', 'three', 3)]))).toEqual({ ok: true });
    expect(await entry('k')).toEqual({ kind: 'value', sequence: 5, value: Buffer.from('five') });

    // A replay of 5 (same mutation, e.g. a chunk re-applied after a crash) changes nothing.
    const before = await cache.get(`${prefix}k`);
    expect(await target.applyMutations!(chunk([put('k', 'five', 5)]))).toEqual({ ok: true });
    expect(await target.applyMutations!(chunk([put('k', 'five, replayed with other bytes', 5)]))).toEqual({ ok: true });
    expect((await cache.get(`${prefix}k`)).value).toEqual(before.value);

    // Delete at 6, then a late PUT at 4: stays deleted. Also on a key never written before.
    await target.applyMutations!(chunk([del('k', 6)]));
    await target.applyMutations!(chunk([put('k', 'four', 4)]));
    expect(await entry('k')).toEqual({ kind: 'tombstone', sequence: 6 });
    await target.applyMutations!(chunk([del('fresh', 6), put('fresh', 'four', 4)]));
    expect(await entry('fresh')).toEqual({ kind: 'tombstone', sequence: 6 });
    // A newer PUT brings the key back.
    await target.applyMutations!(chunk([put('k', 'seven', 7)]));
    expect(await entry('k')).toEqual({ kind: 'value', sequence: 7, value: Buffer.from('seven') });
  });

  it('keeps the highest sequence per key when several appliers race on the same keys (compare-and-set)', async () => {
    const random = seeded(5);
    const appliers = [memcachedTarget(), memcachedTarget(), memcachedTarget(), memcachedTarget()];
    const keys = ['r0', 'r1', 'r2', 'r3', 'r4'];
    const mutations = Array.from({ length: 600 }, (_, i): TargetMutation => {
      const key = keys[Math.floor(random() * keys.length)];
      return random() < 0.2 ? del(key, i + 1) : put(key, `${key}@${i + 1}`, i + 1);
    }).sort(() => random() - 0.5);
    // Each mutation applied twice (a retry), by different appliers, all at once.
    const results = await Promise.all(
      [...mutations, ...mutations].map((m, i) => appliers[i % appliers.length].applyMutations!(chunk([m]))),
    );
    expect(results.filter((r) => !r.ok)).toEqual([]);

    for (const key of keys) {
      const newest = mutations.filter((m) => m.key === key).reduce((a, b) => (b.sequence > a.sequence ? b : a));
      const expected: CacheEntry = newest.op === 'PUT' ? { kind: 'value', sequence: newest.sequence, value: newest.value! } : { kind: 'tombstone', sequence: newest.sequence };
      expect([key, await entry(key)]).toEqual([key, expected]);
    }
  });

  it('delivers payloads as they are under prefix + record key, else the request id, later ones of a batch last', async () => {
    const target = memcachedTarget();
    const results = await target.deliver([delivery('req-1', 'hello'), delivery('req-2', 'first', 'user:7'), delivery('req-3', 'second', 'user:7')]);

    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(await raw('req-1')).toEqual(Buffer.from('hello'));
    expect(await raw('user:7')).toEqual(Buffer.from('second'));
    expect(await raw('req-2')).toBeNull();
  });

  it('refuses a value over the item size limit as permanent: before sending (the stored value stays), or on the server\'s answer', async () => {
    const target = memcachedTarget();
    await target.applyMutations!(chunk([put('big', 'small', 1)]));
    const huge = 'x'.repeat(2 * 1024 * 1024);

    const refused = await target.applyMutations!(chunk([put('big', huge, 2), put('fine', 'ok', 2)]));
    expect(refused).toMatchObject({ ok: false, retriable: false, reason: expect.stringContaining('over the item size limit of 1048576') });
    expect(await entry('big')).toEqual({ kind: 'value', sequence: 1, value: Buffer.from('small') });
    expect(readCacheValue(await raw('fine'))).toEqual(Buffer.from('ok'));

    // A target that believes in a larger limit than the server's -I (1 MiB here) hears it from memcached.
    const optimistic = memcachedTarget({ maxItemSize: 8 * 1024 * 1024 });
    const [tooLarge, alongside] = await optimistic.deliver([delivery('req-huge', huge), delivery('req-small', 'ok')]);
    expect(tooLarge).toMatchObject({ ok: false, retriable: false, reason: expect.stringMatching(/memcached value too large: over the server's item size limit .* "t\d+:req-huge"/) });
    expect(alongside).toEqual({ ok: true });
    expect(await raw('req-small')).toEqual(Buffer.from('ok'));
  });

  it('answers retriable within the timeout while memcached is down, and applies once it is back', async () => {
    const target = memcachedTarget();
    await target.applyMutations!(chunk([put('k', 'v1', 1)]));
    await server.halt();
    try {
      const started = Date.now();
      const during = await target.applyMutations!(chunk([put('k', 'v2', 2)]));
      const delivered = await target.deliver([delivery('req-down', 'x')]);
      expect(during).toMatchObject({ ok: false, retriable: true, reason: expect.stringContaining(server.address) });
      expect(delivered).toEqual([expect.objectContaining({ ok: false, retriable: true })]);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await server.resume();
    }

    expect(await waitForOk(() => target.applyMutations!(chunk([put('k', 'v2', 2)])))).toEqual({ ok: true });
    cache.close();
    cache = reader([server.address]);
    // The restarted server is empty: the value is there, with its sequence.
    expect(await entry('k')).toEqual({ kind: 'value', sequence: 2, value: Buffer.from('v2') });
  });
});

describe('memcached target over two servers', () => {
  let servers: MemcachedServer[] = [];

  beforeAll(async () => {
    servers = await Promise.all([startMemcached(), startMemcached()]);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('spreads keys over both as memjs hashes them, and a reader listing the same servers reads each', async () => {
    const addresses = servers.map((s) => s.address);
    const target = createTarget(
      'cache',
      { type: 'memcached', servers: addresses, keyPrefix: 'two:', ttl: 0, tombstoneTtl: 60_000, maxItemSize: 1024 * 1024, timeoutMs: 1000, connectTimeoutMs: 1000 },
      {},
    );
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    try {
      expect(await target.applyMutations!(chunk(keys.map((k, i) => put(k, `v${i}`, i + 1))))).toEqual({ ok: true });
    } finally {
      await target.close();
    }

    const both = reader(addresses);
    const singles = addresses.map((a) => reader([a]));
    try {
      const onServer = [0, 0];
      for (const [i, k] of keys.entries()) {
        expect([k, readCacheValue((await both.get(`two:${k}`)).value)?.toString()]).toEqual([k, `v${i}`]);
        const found = await Promise.all(singles.map(async (s) => (await s.get(`two:${k}`)).value !== null));
        // Exactly one server holds it: the one memjs' hash (hashCode(key) % servers) names.
        expect([k, found]).toEqual([k, [0, 1].map((idx) => idx === Utils.hashCode(`two:${k}`) % 2)]);
        onServer[found.indexOf(true)] += 1;
      }
      expect(onServer[0] + onServer[1]).toBe(200);
      expect(Math.min(...onServer)).toBeGreaterThan(50);
    } finally {
      both.close();
      singles.forEach((s) => s.close());
    }
  });
});

describe('memcached target with SASL (memcached -S)', () => {
  const user = { username: 'wal', password: 'memcached-s3cret' };
  let server: MemcachedServer;
  const config = (sasl?: { username: string; password: string }): MemcachedTargetConfig => ({
    type: 'memcached',
    servers: [server.address],
    keyPrefix: 'sasl:',
    ttl: 0,
    tombstoneTtl: 60_000,
    maxItemSize: 1024 * 1024,
    timeoutMs: 1000,
    connectTimeoutMs: 1000,
    ...(sasl ? { sasl } : {}),
  });

  beforeAll(async () => {
    server = await startMemcached({ sasl: user });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('applies with the configured credentials, and answers a missing or wrong password as permanent, never showing it', async () => {
    const good = createTarget('cache', config(user), {});
    const none = createTarget('cache', config(), {});
    const wrong = createTarget('cache', config({ username: 'wal', password: 'not-the-password' }), {});
    // memjs would fall back to these: the target must not (only its config authenticates).
    const saved = { u: process.env.MEMCACHE_USERNAME, p: process.env.MEMCACHE_PASSWORD };
    process.env.MEMCACHE_USERNAME = user.username;
    process.env.MEMCACHE_PASSWORD = user.password;
    try {
      expect(await good.applyMutations!(chunk([put('k', 'v', 1)]))).toEqual({ ok: true });
      for (const target of [none, wrong]) {
        const result = await target.applyMutations!(chunk([put('k', 'other', 2)]));
        expect(result).toMatchObject({ ok: false, retriable: false, reason: expect.stringContaining('authentication failed') });
        expect(JSON.stringify(result)).not.toMatch(/s3cret|not-the-password/);
      }
    } finally {
      process.env.MEMCACHE_USERNAME = saved.u;
      process.env.MEMCACHE_PASSWORD = saved.p;
      if (saved.u === undefined) delete process.env.MEMCACHE_USERNAME;
      if (saved.p === undefined) delete process.env.MEMCACHE_PASSWORD;
      await Promise.all([good, none, wrong].map((t) => t.close()));
    }

    const authenticated = Client.create(server.address, { ...user, retries: 1, timeout: 1, logger: { log: () => undefined } });
    try {
      expect(decodeCacheEntry((await authenticated.get('sasl:k')).value!)).toEqual({ kind: 'value', sequence: 1, value: Buffer.from('v') });
    } finally {
      authenticated.close();
    }
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** memjs reconnects on the next request; give it a few seconds after a restart. */
async function waitForOk<T extends { ok: boolean }>(attempt: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await attempt();
    if (result.ok || Date.now() > deadline) return result;
    await sleep(100);
  }
}
