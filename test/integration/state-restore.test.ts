import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Semaphore } from 'async-mutex';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { TopologyBuilder, type Processor } from '../../src/engine';
import { RecordCollector } from '../../src/engine/internals/record-collector';
import { TaskStores } from '../../src/engine/internals/task-stores';
import { createLogger } from '../../src/observability/logger';
import { restoreRecords, restoreRemaining } from '../../src/observability/metrics';
import { LevelStore, RecoveryPartition, type KeyValueStore } from '../../src/state';
import { testCluster, uniqueTopic } from '../support/clusters';

const kafka = new Kafka({ clientId: 'state-restore-test', brokers: testCluster('A').brokers, logLevel: logLevel.NOTHING });
const logger = createLogger({ test: 'state-restore' }, { level: 'silent' });
// 1 KiB values and 16 KiB fetches: a restore of a few hundred records takes many fetches, so the
// write of one batch overlaps the fetch of the next many times over.
const VALUE = 'v'.repeat(1024);
const FETCH_BYTES = 16 * 1024;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'wal-state-restore-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function createTopic(topic: string, partitions = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Writes `messages` in sends of 10 (one small record batch each, so fetches stay small). */
async function sendInSmallBatches(send: (messages: Message[]) => Promise<unknown>, messages: Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) await send(messages.slice(i, i + 10));
}

const puts = (from: number, to: number, value: string, partition = 0): Message[] =>
  Array.from({ length: to - from }, (_, i) => ({ key: `k${from + i}`, value: `${value}:${VALUE}`, partition }));
const tombstones = (from: number, to: number): Message[] => Array.from({ length: to - from }, (_, i) => ({ key: `k${from + i}`, value: null, partition: 0 }));

async function contents(store: KeyValueStore | LevelStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const [key, value] of store.range()) out[key.toString()] = value.toString().split(':')[0];
  return out;
}

const expected = (ranges: Array<[number, number, string]>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [from, to, value] of ranges) for (let i = from; i < to; i++) out[`k${i}`] = value;
  return out;
};

async function endOffset(topic: string, partition = 0): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).find((o) => o.partition === partition)!.high;
  } finally {
    await admin.disconnect();
  }
}

async function restoredCount(namespace: string, store: string): Promise<number> {
  return (await restoreRecords.get()).values.find((v) => v.labels.namespace === namespace && v.labels.store === store)?.value ?? 0;
}

describe('an exactly-once changelog (committed and aborted transactions)', () => {
  let topic: string;
  let txn3Start: string;

  beforeAll(async () => {
    topic = uniqueTopic('restore-eos');
    await createTopic(topic);
    const producer = kafka.producer({ transactionalId: `${topic}-writer`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const inTransaction = async (messages: Message[], commit: boolean): Promise<void> => {
        const txn = await producer.transaction();
        await sendInSmallBatches((m) => txn.send({ topic, messages: m }), messages);
        await (commit ? txn.commit() : txn.abort());
      };
      await inTransaction(puts(0, 300, 'v1'), true);
      await inTransaction(puts(0, 100, 'aborted'), false);
      txn3Start = await endOffset(topic);
      await inTransaction([...puts(100, 200, 'v2'), ...tombstones(200, 250)], true);
    } finally {
      await producer.disconnect();
    }
  });

  test('a rebuilt store holds the last committed value of every key: tombstones delete, aborted records never land', async () => {
    const namespace = uniqueTopic('ns');
    const recovery = new RecoveryPartition({ kafka, namespace, topic, partition: 0, checkpointed: null, logger, fetchBytes: FETCH_BYTES });
    const { store, result } = await recovery.recover(await LevelStore.open('s', path.join(dir, 's')));
    try {
      expect(await contents(store)).toEqual(expected([[0, 100, 'v1'], [100, 200, 'v2'], [250, 300, 'v1']]));
      expect(result).toMatchObject({ restored: 450, end: await endOffset(topic), rebuilt: true });
      expect(result.writes).toBeGreaterThan(10);
      expect(await restoredCount(namespace, 's')).toBe(450);
      expect((await restoreRemaining.get()).values.find((v) => v.labels.namespace === namespace)?.value).toBe(0);
    } finally {
      await store.close();
    }
  });

  test('a batch whose write fails is written again before the batches after it: the store still equals the changelog', async () => {
    const realWrite = LevelStore.prototype.write;
    let calls = 0;
    jest.spyOn(LevelStore.prototype, 'write').mockImplementation(function (this: LevelStore, writes) {
      calls++;
      return calls === 3 ? Promise.reject(new Error('disk hiccup')) : realWrite.call(this, writes);
    });
    try {
      const recovery = new RecoveryPartition({ kafka, namespace: 'ns', topic, partition: 0, checkpointed: null, logger, fetchBytes: FETCH_BYTES });
      const { store, result } = await recovery.recover(await LevelStore.open('s', path.join(dir, 's')));
      try {
        expect(await contents(store)).toEqual(expected([[0, 100, 'v1'], [100, 200, 'v2'], [250, 300, 'v1']]));
        expect(result.restored).toBe(450);
        expect(calls).toBe(result.writes + 1);
      } finally {
        await store.close();
      }
    } finally {
      jest.restoreAllMocks();
    }
  });

  test('from a checkpoint, only the records after it are replayed onto the local store', async () => {
    const local = await LevelStore.open('s', path.join(dir, 's'));
    await local.write([{ key: Buffer.from('k200'), value: Buffer.from('before') }, { key: Buffer.from('local'), value: Buffer.from('kept') }]);
    const recovery = new RecoveryPartition({ kafka, namespace: 'ns', topic, partition: 0, checkpointed: txn3Start, logger, fetchBytes: FETCH_BYTES });
    const { store, result } = await recovery.recover(local);
    try {
      expect(await contents(store)).toEqual({ ...expected([[100, 200, 'v2']]), local: 'kept' });
      expect(result).toMatchObject({ restored: 150, rebuilt: false });
    } finally {
      await store.close();
    }
  });

  test('a restore that fails closes its store, so that the task can open it again', async () => {
    const location = path.join(dir, 's');
    const recovery = new RecoveryPartition({ kafka, namespace: 'ns', topic, partition: 7, checkpointed: null, logger });
    await expect(recovery.recover(await LevelStore.open('s', location))).rejects.toThrow(/has no partition 7/);
    const reopened = await LevelStore.open('s', location);
    await reopened.close();
  });
});

test("a task's stores and several tasks restore at once, within the runner's slots, each exactly its own partition", async () => {
  const applicationId = uniqueTopic('restore-tasks');
  const idle = (): Processor => ({ process: () => undefined });
  const topology = new TopologyBuilder()
    .addSource('in', `${applicationId}.in`)
    .addProcessor('p', idle, 'in')
    .addStore('a', { changelog: true }, 'p')
    .addStore('b', { changelog: true }, 'p')
    .build();
  const partitions = [0, 1, 2];
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (const store of ['a', 'b']) {
      const topic = topology.changelogTopic(store, applicationId)!;
      await createTopic(topic, partitions.length);
      for (const p of partitions) {
        await sendInSmallBatches((m) => producer.send({ topic, messages: m }), [...puts(0, 60, `${store}${p}-old`, p), ...puts(0, 50, `${store}${p}`, p)]);
      }
    }
  } finally {
    await producer.disconnect();
  }

  let running = 0;
  let mostAtOnce = 0;
  const slots = new (class extends Semaphore {
    override async runExclusive<T>(work: (value: number) => Promise<T> | T): Promise<T> {
      return super.runExclusive(async (value) => {
        mostAtOnce = Math.max(mostAtOnce, ++running);
        try {
          return await work(value);
        } finally {
          running--;
        }
      });
    }
  })(2);
  const opened = await Promise.all(
    partitions.map((partition) =>
      TaskStores.open({ kafka, namespace: applicationId, applicationId, partition, topology, stateDir: dir, collector: new RecordCollector(), logger, restoreStallTimeoutMs: 30_000, restoreSlots: slots }),
    ),
  );
  try {
    expect(mostAtOnce).toBe(2);
    for (const [i, { stores, restored }] of opened.entries()) {
      const p = partitions[i];
      expect(restored).toBe(2 * 110);
      expect(await contents(stores.stores.get('a')!)).toEqual(expected([[0, 50, `a${p}`], [50, 60, `a${p}-old`]]));
      expect(await contents(stores.stores.get('b')!)).toEqual(expected([[0, 50, `b${p}`], [50, 60, `b${p}-old`]]));
    }
  } finally {
    await Promise.all(opened.map(({ stores }) => stores.close()));
  }
});
