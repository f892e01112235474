import { TopologyBuilder, TopologyTestDriver, type ProcessorContext, type WalRecord } from '../../src/engine';
import { DLQ_HEADERS } from '../../src/wire/headers';
import { InMemoryStore } from '../../src/state';
import { relayTopology, tickerTopology } from '../support/processors';

const text = (b: Buffer | null | undefined): string | undefined => b?.toString();

describe('TopologyTestDriver', () => {
  let driver: TopologyTestDriver | undefined;
  afterEach(async () => {
    await driver?.close();
    driver = undefined;
  });

  it('runs a record through the topology as a task does: depth-first, each sink to its topic, metadata kept', async () => {
    const seen: string[] = [];
    const topology = relayTopology(seen);
    driver = await TopologyTestDriver.create(topology, { startTime: 5_000 });
    await driver.pipeInput('in', { key: 'k', value: 'x', headers: { h: '1' } });
    expect(seen).toEqual(['a:x', 'a1:x>a', 'b:x']);
    expect(driver.readAllOutput('topic-a')).toEqual([{ topic: 'topic-a', key: Buffer.from('k'), value: Buffer.from('x>a>a1'), headers: { h: '1' }, timestamp: 5_000 }]);
    expect(driver.readOutput('topic-3')).toMatchObject({ value: Buffer.from('x>b'), timestamp: 5_000 });
    expect(driver.readOutput('topic-3')).toBeUndefined();
    expect(driver.outputTopics()).toEqual([]);
  });

  it('gives processors the record offset per topic (next after the last, unless given), its timestamp, and an explicit output partition', async () => {
    const metadata: string[] = [];
    const topology = new TopologyBuilder()
      .addSource('src', 'in')
      .addProcessor('p', () => {
        let context: ProcessorContext;
        return {
          init: (c) => void (context = c),
          process: (r: WalRecord) => {
            metadata.push(`${context.topic}@${context.offset} t=${context.timestamp} p=${context.partition}`);
            context.forward({ key: r.key, value: r.value, partition: 7, timestamp: 9 });
          },
        };
      }, 'src')
      .addSink('out', 'out', 'p')
      .build();
    driver = await TopologyTestDriver.create(topology, { partition: 2 });
    await driver.pipeInputs('in', [{ value: 'a', timestamp: 100 }, { value: 'b', timestamp: 200 }]);
    await driver.pipeInputs('in', [{ value: 'c', timestamp: 300, offset: 41 }, { value: 'd', timestamp: 400 }]);
    expect(metadata).toEqual(['in@0 t=100 p=2', 'in@1 t=200 p=2', 'in@41 t=300 p=2', 'in@42 t=400 p=2']);
    expect(driver.readAllOutput('out').map((r) => [text(r.value), r.partition, r.timestamp])).toEqual([
      ['a', 7, 9],
      ['b', 7, 9],
      ['c', 7, 9],
      ['d', 7, 9],
    ]);
  });

  it('refuses a topic no source reads', async () => {
    driver = await TopologyTestDriver.create(new TopologyBuilder().addSource('src', 'in').addProcessor('p', () => ({ process: () => undefined }), 'src').build());
    await expect(driver.pipeInput('elsewhere', { value: 'x' })).rejects.toThrow(/no source reads topic elsewhere/);
  });

  it('dead-letters a record whose processing threw, with the engine error headers, and carries on', async () => {
    const topology = new TopologyBuilder()
      .addSource('src', 'in')
      .addProcessor('p', () => ({
        process: (r: WalRecord) => {
          if (text(r.value) === 'bad') throw new TypeError('cannot decode');
        },
      }), 'src')
      .setDeadLetterTopic('dlq')
      .build();
    driver = await TopologyTestDriver.create(topology);
    await driver.pipeInputs('in', [{ key: 'k', value: 'bad', headers: { h: '1' } }, { value: 'good' }]);
    const letters = driver.readAllOutput('dlq');
    expect(letters).toHaveLength(1);
    expect(text(letters[0].value)).toBe('bad');
    // The engine's error policy wrote it (its full header set is specified in runtime-task.test.ts).
    expect(letters[0].headers).toMatchObject({ h: '1', [DLQ_HEADERS.reason]: 'cannot decode', [DLQ_HEADERS.kind]: 'error', [DLQ_HEADERS.errorClass]: 'TypeError', [DLQ_HEADERS.sourceOffset]: '0' });
  });

  it('flushes processors after each input, so what they batch is sent before the input counts as done', async () => {
    const topology = new TopologyBuilder()
      .addSource('src', 'in')
      .addProcessor('batcher', () => {
        let context: ProcessorContext;
        const held: WalRecord[] = [];
        return {
          init: (c) => void (context = c),
          process: (r: WalRecord) => void held.push(r),
          flush: () => {
            context.forward({ key: null, value: Buffer.from(held.map((r) => text(r.value)).join(',')) });
            held.length = 0;
          },
        };
      }, 'src')
      .addSink('out', 'out', 'batcher')
      .build();
    driver = await TopologyTestDriver.create(topology);
    await driver.pipeInputs('in', [{ value: 'a' }, { value: 'b' }]);
    await driver.pipeInput('in', { value: 'c' });
    expect(driver.readAllOutput('out').map((r) => text(r.value))).toEqual(['a,b', 'c']);
  });

  it('fires a punctuator every interval of elapsed wall-clock time, at the time it falls due, and never before', async () => {
    const ticks: number[] = [];
    const topology = tickerTopology(100, 'ticks', ticks);
    driver = await TopologyTestDriver.create(topology, { startTime: 1_000 });
    await driver.advanceWallClockTime(99);
    expect(ticks).toEqual([]);
    await driver.advanceWallClockTime(1);
    expect(ticks).toEqual([1_100]);
    await driver.advanceWallClockTime(350);
    expect(ticks).toEqual([1_100, 1_200, 1_300, 1_400]);
    expect(driver.now()).toBe(1_450);
    expect(driver.readAllOutput('ticks').map((r) => [text(r.value), r.timestamp])).toEqual([
      ['tick@1100', 1_100],
      ['tick@1200', 1_200],
      ['tick@1300', 1_300],
      ['tick@1400', 1_400],
    ]);
  });

  it('stops firing a cancelled schedule', async () => {
    const ticks: number[] = [];
    const topology = new TopologyBuilder()
      .addSource('src', 'in')
      .addProcessor('ticker', () => ({
        init: (c: ProcessorContext) => {
          const schedule = c.schedule(10, async (now) => {
            ticks.push(now);
            if (ticks.length === 2) schedule.cancel();
          });
        },
        process: () => undefined,
      }), 'src')
      .build();
    driver = await TopologyTestDriver.create(topology);
    await driver.advanceWallClockTime(100);
    expect(ticks).toEqual([10, 20]);
  });

  it('shows what processors wrote to their stores, and keeps it across a reopen while processors start afresh', async () => {
    let inits = 0;
    const topology = new TopologyBuilder()
      .addSource('src', 'in')
      .addProcessor('p', () => {
        let context: ProcessorContext;
        return {
          init: (c) => {
            context = c;
            inits += 1;
          },
          process: (r: WalRecord) => context.getStore('kv').put(r.key!, r.value!),
        };
      }, 'src')
      .addStore('kv', { changelog: true }, 'p')
      .build();
    driver = await TopologyTestDriver.create(topology);
    await driver.pipeInputs('in', [{ key: 'b', value: '2' }, { key: 'a', value: '1' }]);
    await driver.reopen();
    await driver.pipeInput('in', { key: 'c', value: '3' });
    const entries: string[] = [];
    for await (const [k, v] of driver.getStore('kv').range()) entries.push(`${k.toString()}=${v.toString()}`);
    expect(entries).toEqual(['a=1', 'b=2', 'c=3']);
    expect(inits).toBe(2);
    expect(() => driver!.getStore('nope')).toThrow(/no store "nope" \(stores: kv\)/);
  });

  it('closes processors on close, and lets them forward on the way out', async () => {
    const closed: string[] = [];
    const topology = new TopologyBuilder()
      .addSource('src', 'in')
      .addProcessor('p', () => ({ process: () => undefined, close: () => void closed.push('p') }), 'src')
      .build();
    const d = await TopologyTestDriver.create(topology);
    await d.close();
    expect(closed).toEqual(['p']);
    await expect(d.pipeInput('in', { value: 'x' })).rejects.toThrow(/closed/);
  });
});

describe('InMemoryStore', () => {
  const b = (s: string | number[]): Buffer => (typeof s === 'string' ? Buffer.from(s) : Buffer.from(s));
  const keys = async (iterable: AsyncIterable<[Buffer, Buffer]>): Promise<string[]> => {
    const out: string[] = [];
    for await (const [k] of iterable) out.push(k.toString('hex'));
    return out;
  };

  it('orders keys byte-wise, so big-endian numbers scan in numeric order', async () => {
    const store = new InMemoryStore('s');
    for (const n of [256, 1, 255, 0x10000]) {
      const key = Buffer.alloc(4);
      key.writeUInt32BE(n);
      await store.put(key, b('v'));
    }
    expect(await keys(store.range())).toEqual(['00000001', '000000ff', '00000100', '00010000']);
  });

  it('answers range with gte (inclusive), lt (exclusive), limit and reverse', async () => {
    const store = new InMemoryStore('s');
    for (const k of ['a', 'b', 'c', 'd', 'e']) await store.put(b(k), b(k.toUpperCase()));
    const text = async (options: Parameters<InMemoryStore['range']>[0]) => (await keys(store.range(options))).map((h) => Buffer.from(h, 'hex').toString());
    expect(await text({ gte: b('b'), lt: b('d') })).toEqual(['b', 'c']);
    expect(await text({ gte: b('bb') })).toEqual(['c', 'd', 'e']);
    expect(await text({ lt: b('c'), reverse: true })).toEqual(['b', 'a']);
    expect(await text({ gte: b('b'), limit: 2, reverse: true })).toEqual(['e', 'd']);
    expect(await text({ limit: 0 })).toEqual([]);
    expect(await text({ gte: b('d'), lt: b('b') })).toEqual([]);
  });

  it('gets, gets many, overwrites and deletes; stores copies of what it is given', async () => {
    const store = new InMemoryStore('s');
    const key = b('k');
    const value = b('v1');
    await store.put(key, value);
    value.write('XX');
    key.write('z');
    expect(await store.get(b('k'))).toEqual(b('v1'));
    await store.put(b('k'), b('v2'));
    await store.put(b('m'), b('w'));
    expect(await store.getMany([b('m'), b('none'), b('k')])).toEqual([b('w'), undefined, b('v2')]);
    await store.delete(b('k'));
    await store.delete(b('never'));
    expect(await store.get(b('k'))).toBeUndefined();
    expect(await store.approximateSize()).toBe(2);
  });

  it('iterates a snapshot: deleting during a scan neither skips nor repeats entries', async () => {
    const store = new InMemoryStore('s');
    for (const k of ['a', 'b', 'c']) await store.put(b(k), b('v'));
    const seen: string[] = [];
    for await (const [k] of store.range()) {
      seen.push(k.toString());
      await store.delete(k);
    }
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(await keys(store.range())).toEqual([]);
  });
});
