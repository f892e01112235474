import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ChangeloggedStore, ChangelogWriter, LevelStore } from '../../src/state';

const b = (s: string): Buffer => Buffer.from(s);

async function collect(it: AsyncIterable<[Buffer, Buffer]>): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, v] of it) out.push(`${k.toString()}=${v.toString()}`);
  return out;
}

describe('ChangeloggedStore', () => {
  let dir: string;
  let local: LevelStore;
  let changelog: { topic: string; partition: number; key: string; value: string | null }[];
  let store: ChangeloggedStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wal-overlay-'));
    local = await LevelStore.open('s', path.join(dir, 's'));
    changelog = [];
    const sink = {
      sendChangelog: (topic: string, partition: number, key: Buffer, value: Buffer | null) =>
        changelog.push({ topic, partition, key: key.toString(), value: value?.toString() ?? null }),
    };
    store = new ChangeloggedStore(local, new ChangelogWriter('wal.x.s-changelog', 2, sink, '0'));
  });
  afterEach(async () => {
    await local.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends every put and delete to the changelog partition of its task, deletes as tombstones', async () => {
    await store.put(b('a'), b('1'));
    await store.delete(b('a'));
    expect(changelog).toEqual([
      { topic: 'wal.x.s-changelog', partition: 2, key: 'a', value: '1' },
      { topic: 'wal.x.s-changelog', partition: 2, key: 'a', value: null },
    ]);
  });

  it('keeps a local index off the changelog: its keys are written and read like the others, on disk only', async () => {
    const indexed = new ChangeloggedStore(local, new ChangelogWriter('wal.x.s-changelog', 2, { sendChangelog: (topic, partition, key, value) => changelog.push({ topic, partition, key: key.toString(), value: value?.toString() ?? null }) }, '0'), {
      isIndexKey: (key) => key[0] === 0x78, // 'x'
      derive: () => null,
    });
    await indexed.put(b('a1'), b('v'));
    await indexed.put(b('x1'), b(''));
    await indexed.delete(b('x0'));
    expect(changelog.map((r) => r.key)).toEqual(['a1']);
    await indexed.applyPending();
    expect(await local.get(b('x1'))).toEqual(b(''));
    expect(await collect(indexed.range({ gte: b('x') }))).toEqual(['x1=']);
  });

  it('keeps writes off disk until applied, while reads already see them', async () => {
    await store.put(b('a'), b('1'));
    expect(await store.get(b('a'))).toEqual(b('1'));
    expect(await local.get(b('a'))).toBeUndefined();
    await store.applyPending();
    expect(await local.get(b('a'))).toEqual(b('1'));
  });

  it('forgets unapplied writes on discard (their output was not committed)', async () => {
    await local.put(b('a'), b('old'));
    await store.put(b('a'), b('new'));
    await store.delete(b('x'));
    store.discardPending();
    expect(await store.get(b('a'))).toEqual(b('old'));
    expect(store.pendingWrites).toBe(0);
  });

  it('ranges over disk and pending writes merged in key order, honouring deletes, bounds, limit and reverse', async () => {
    await local.write(['a', 'c', 'e', 'g'].map((k) => ({ key: b(k), value: b('disk') })));
    await store.put(b('b'), b('new'));
    await store.put(b('c'), b('new'));
    await store.delete(b('e'));
    await store.put(b('h'), b('new'));
    expect(await collect(store.range())).toEqual(['a=disk', 'b=new', 'c=new', 'g=disk', 'h=new']);
    expect(await collect(store.range({ gte: b('b'), lt: b('h') }))).toEqual(['b=new', 'c=new', 'g=disk']);
    expect(await collect(store.range({ reverse: true, limit: 3 }))).toEqual(['h=new', 'g=disk', 'c=new']);
    expect(await collect(store.range({ limit: 2 }))).toEqual(['a=disk', 'b=new']);
  });

  it('checkpoints the acknowledged changelog offset, never going backwards', () => {
    const writer = new ChangelogWriter('t', 0, { sendChangelog: () => undefined }, '10');
    expect(writer.checkpointOffset()).toBe('10');
    writer.acknowledge('15');
    writer.acknowledge('12');
    expect(writer.checkpointOffset()).toBe('15');
  });
});
