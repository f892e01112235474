import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Checkpoint, LevelStore, StoreClosedError, StoreOpenError } from '../../src/state';

const be = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

describe('LevelStore', () => {
  let dir: string;
  let store: LevelStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wal-level-'));
    store = await LevelStore.open('s', path.join(dir, 'ns', 's', '0'));
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('puts, gets and deletes binary keys and values (including zero bytes and non-UTF-8)', async () => {
    const key = Buffer.from([0x00, 0xff, 0xfe, 0x00]);
    const value = Buffer.from([0xc3, 0x28, 0x00]);
    await store.put(key, value);
    expect(await store.get(key)).toEqual(value);
    expect(await store.get(Buffer.from([0x00, 0xff]))).toBeUndefined();
    await store.delete(key);
    expect(await store.get(key)).toBeUndefined();
  });

  it('ranges in byte order, so big-endian numeric prefixes come out in numeric order', async () => {
    for (const n of [300, 2, 70000, 1, 256]) await store.put(be(n), Buffer.from(String(n)));
    const all: string[] = [];
    for await (const [, v] of store.range()) all.push(v.toString());
    expect(all).toEqual(['1', '2', '256', '300', '70000']);

    const due: string[] = [];
    for await (const [, v] of store.range({ gte: be(2), lt: be(300) })) due.push(v.toString());
    expect(due).toEqual(['2', '256']);

    const lastTwo: string[] = [];
    for await (const [, v] of store.range({ reverse: true, limit: 2 })) lastTwo.push(v.toString());
    expect(lastTwo).toEqual(['70000', '300']);
  });

  it('applies a write batch in order, where null deletes', async () => {
    await store.write([
      { key: Buffer.from('a'), value: Buffer.from('1') },
      { key: Buffer.from('b'), value: Buffer.from('2') },
      { key: Buffer.from('a'), value: null },
    ]);
    expect(await store.get(Buffer.from('a'))).toBeUndefined();
    expect(await store.get(Buffer.from('b'))).toEqual(Buffer.from('2'));
  });

  it('keeps data across close and reopen', async () => {
    await store.put(Buffer.from('k'), Buffer.from('v'));
    await store.close();
    store = await LevelStore.open('s', path.join(dir, 'ns', 's', '0'));
    expect(await store.get(Buffer.from('k'))).toEqual(Buffer.from('v'));
  });

  it('reports an approximate size that grows once data reaches disk', async () => {
    // Random bytes: LevelDB compresses (snappy), so a repeated pattern would hardly take space.
    for (let i = 0; i < 500; i++) await store.put(be(i), randomBytes(4096));
    await store.close();
    store = await LevelStore.open('s', path.join(dir, 'ns', 's', '0'));
    expect(await store.approximateSize()).toBeGreaterThan(1_000_000);
  });

  it('refuses use after close with StoreClosedError', async () => {
    await store.close();
    await expect(store.get(Buffer.from('k'))).rejects.toBeInstanceOf(StoreClosedError);
  });

  it('names the location when a second opener hits the LevelDB lock', async () => {
    const error = await LevelStore.open('s', path.join(dir, 'ns', 's', '0')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreOpenError);
    expect((error as StoreOpenError).message).toContain(path.join(dir, 'ns', 's', '0'));
    expect((error as StoreOpenError).retriable).toBe(true);
  });
});

describe('Checkpoint', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wal-ckpt-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads back what it wrote, and null when absent or deleted', async () => {
    const checkpoint = new Checkpoint(path.join(dir, 'sub', '3.json'));
    expect(await checkpoint.read()).toBeNull();
    await checkpoint.write({ counts: { topic: 'wal.x.counts-changelog', partition: 3, offset: '42' } });
    expect(await checkpoint.read()).toEqual({ counts: { topic: 'wal.x.counts-changelog', partition: 3, offset: '42' } });
    await checkpoint.delete();
    expect(await checkpoint.read()).toBeNull();
  });

  it('treats a corrupt file as absent and reports why', async () => {
    const file = path.join(dir, '0.json');
    await writeFile(file, '{"version":1,"stores":{"s":{"topic":"t","partition":0,"offset":"x"}}}');
    const reasons: string[] = [];
    expect(await new Checkpoint(file).read((e) => reasons.push(e.message))).toBeNull();
    expect(reasons[0]).toMatch(/bad entry for store "s"/);
  });
});
