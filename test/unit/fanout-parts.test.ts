import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/namespaces';
import { delayedQueueTopology } from '../../src/delayed-queue';
import { addMutationNodes, mutationTopology } from '../../src/mutations';
import type { ChunkRecord } from '../../src/mutations/chunk-codec';
import { ChunkQueue, type QueuedChunk } from '../../src/mutations/chunk-queue';
import { redriveHeaders, redriveOf, redriveRequest } from '../../src/mutations/redrive';
import { REDRIVE_HEADERS } from '../../src/wire/headers';
import { TopologyBuilder } from '../../src/engine';
import type { WriteToLogRequest } from '../../src/wire';
import { LevelStore } from '../../src/state';

const config = parseConfig(
  `
clusters:
  primary: { brokers: 127.0.0.1:9092, schemaRegistryUrl: http://127.0.0.1:8081/apis/ccompat/v7 }
namespaces:
  - name: shop
    targets:
      orders: { type: postgres, connectionString: postgres://u@h/db, table: orders }
      cache: { type: redis, url: redis://h:6379 }
`,
  'shop.yaml',
);
const ns = config.namespaces[0];

function queued(n: number, attempts = 0): QueuedChunk {
  return { attempts, source: { topic: 'wal.shop.target.orders', partition: 0, offset: String(n) }, key: Buffer.from(`k${n}`), headers: { n: String(n) }, value: Buffer.from(`chunk-${n}`) };
}

describe('held-chunk queue (on LevelDB)', () => {
  let dir: string;
  let level: LevelStore;
  let queue: ChunkQueue;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-held-'));
    level = await LevelStore.open('held', dir);
    queue = new ChunkQueue(level);
  });
  afterEach(async () => {
    await level.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives back chunks first in, first out, per target', async () => {
    for (const n of [1, 2, 3]) await queue.push('orders', queued(n));
    await queue.push('cache', queued(9));
    // Past 255 entries the sequence carries into the next byte: order must hold across it.
    for (let n = 4; n < 300; n += 1) await queue.push('orders', queued(n));
    const seen: string[] = [];
    for (let head = await queue.head('orders'); head; head = await queue.head('orders')) {
      seen.push(head.chunk.value.toString());
      await queue.remove('orders', head.key);
    }
    expect(seen).toEqual(Array.from({ length: 299 }, (_, i) => `chunk-${i + 1}`));
    expect((await queue.head('cache'))!.chunk).toEqual(queued(9));
    expect(await queue.isEmpty('orders')).toBe(true);
  });

  it('keeps a target apart from another whose name it prefixes', async () => {
    await queue.push('ord', queued(1));
    await queue.push('orders', queued(2));
    expect((await queue.head('ord'))!.chunk.value.toString()).toBe('chunk-1');
    expect(await queue.size('ord')).toBe(1);
  });

  it('replaces the head in place (a retry keeps its position) and tracks its retry time', async () => {
    await queue.push('orders', queued(1));
    await queue.push('orders', queued(2));
    const head = (await queue.head('orders'))!;
    await queue.replace(head.key, { ...head.chunk, attempts: 3, lastError: 'ECONNREFUSED' });
    expect((await queue.head('orders'))!.chunk).toMatchObject({ attempts: 3, lastError: 'ECONNREFUSED', value: Buffer.from('chunk-1') });
    expect(await queue.retryAt('orders')).toBe(0);
    await queue.setRetryAt('orders', 1_800_000_000_123);
    expect(await queue.retryAt('orders')).toBe(1_800_000_000_123);
  });

  it('counts what is held, also after re-opening the store', async () => {
    for (const n of [1, 2, 3]) await queue.push('orders', queued(n));
    expect(await queue.size('orders')).toBe(3);
    expect(await new ChunkQueue(level).size('orders')).toBe(3);
    const head = (await queue.head('orders'))!;
    await queue.remove('orders', head.key);
    expect(await queue.size('orders')).toBe(2);
  });
});

describe('re-drive of a dead-lettered chunk', () => {
  const chunk: ChunkRecord = {
    namespace: 'shop',
    txnId: 'txn-9',
    target: 'orders',
    chunkIndex: 4,
    chunkCount: 7,
    writeTime: 1000,
    mutations: [{ target: 'orders', key: 'a', op: 'PUT', value: Buffer.from('1'), sequence: 3 }],
  };

  it('becomes an intake request under the transaction id, due at once, with the chunk as headers', () => {
    const request = redriveRequest(ns, chunk, 5000);
    expect(request).toMatchObject({ namespace: 'shop', id: 'txn-9', lifecycle: { writeTime: 5000, delayMs: 0, deliverAt: null }, target: null, mutations: chunk.mutations });
    expect(redriveOf(redriveHeaders(chunk), request)).toEqual({ target: 'orders', chunkIndex: 4, chunkCount: 7 });
  });

  it('is not asked for by a plain request', () => {
    expect(redriveOf({ 'wal-id': 'x' }, redriveRequest(ns, chunk, 0))).toBeUndefined();
  });

  it('refuses headers that do not describe one chunk of the request', () => {
    const request: WriteToLogRequest = redriveRequest(ns, chunk, 0);
    expect(() => redriveOf({ ...redriveHeaders(chunk), [REDRIVE_HEADERS.chunkIndex]: '7' }, request)).toThrow(/need 0 ≤ index < count/);
    expect(() => redriveOf({ ...redriveHeaders(chunk), [REDRIVE_HEADERS.chunkCount]: 'x' }, request)).toThrow(/re-drive headers name chunk "4" of "x"/);
    expect(() => redriveOf({ ...redriveHeaders(chunk), [REDRIVE_HEADERS.target]: 'cache' }, request)).toThrow(/re-drive of target "cache" holds a mutation for target "orders"/);
  });
});

describe('mutation topology', () => {
  it('reads intake, every per-target topic and completions; keeps held chunks and txn states in changelogged stores', () => {
    const topology = mutationTopology(ns, { clusters: config.clusters });
    expect([...topology.sourceTopics].sort()).toEqual(['wal.shop.completions', 'wal.shop.intake', 'wal.shop.target.cache', 'wal.shop.target.orders']);
    expect(topology.changelogTopic('fanout-held', 'wal.shop')).toBe('wal.shop.fanout-held-changelog');
    expect(topology.changelogTopic('txns', 'wal.shop')).toBe('wal.shop.txn-status');
    expect(topology.children.get('fanout')).toEqual(['fanout-target-cache', 'fanout-target-orders', 'fanout-txn-events', 'fanout-dlq']);
    expect(topology.deadLetterTopic).toBe('wal.shop.dlq');
  });

  it('adds itself under the delayed queue without clashing with its nodes or stores', () => {
    const builder = new TopologyBuilder()
      .addSource('intake', ns.topics.intake)
      .addProcessor('delay', () => ({ process: () => undefined }), 'intake')
      .addSink('dlq', ns.topics.dlq, 'delay')
      .addStore('timers', { changelog: { topic: ns.topics.timersChangelog } }, 'delay');
    const topology = addMutationNodes(builder, ns, { clusters: config.clusters }).build();
    expect(topology.children.get('delay')).toEqual(['dlq', 'fanout']);
    expect([...topology.stores.keys()].sort()).toEqual(['fanout-held', 'timers', 'txns']);
    // The real delayed-queue topology builds on its own, so the lead's combined one only adds these nodes.
    expect(delayedQueueTopology(ns, { clusters: config.clusters }).nodes.has('fanout')).toBe(false);
  });
});
