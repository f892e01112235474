import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { IdempotencyWindow, windowIndex } from '../../src/delayed-queue/idempotency-window';
import { TimerStore, timerIdIndex, type TimerEntry } from '../../src/delayed-queue/timer-store';
import { rootLogger } from '../../src/observability/logger';
import { ChangeloggedStore, ChangelogWriter, LevelStore, RecoveryPartition } from '../../src/state';
import { testCluster, uniqueTopic } from '../support/clusters';

// The idempotency window changelogs only its 'a' entries and the timer store only its 't' entries:
// their indexes ('x', 'i') are local and must be derived again when a store is rebuilt from the
// changelog on a real broker.
const endpoints = testCluster('A');
const kafka = new Kafka({ clientId: 'local-index-test', brokers: endpoints.brokers, logLevel: logLevel.NOTHING });
const WINDOW_MS = 60_000;

let dir: string;

async function createTopic(name: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: name, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true }).finally(() => admin.disconnect());
}

async function produce(topic: string, records: readonly { key: Buffer; value: Buffer | null }[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value, partition: 0 })) }).finally(() => producer.disconnect());
}

afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('a window rebuilt from its changelog derives its expiry index and sweeps what expired, nothing else', async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'wal-local-index-'));
  const topic = uniqueTopic('ids-changelog');
  await createTopic(topic);

  // Written through the window as a task does: the changelog records go to a real topic.
  const original = await LevelStore.open('ids', path.join(dir, 'original'));
  const sent: { key: Buffer; value: Buffer | null }[] = [];
  const writer = new ChangelogWriter(topic, 0, { sendChangelog: (_t, _p, key, value) => sent.push({ key, value }) }, '0');
  const window = new IdempotencyWindow(new ChangeloggedStore(original, writer, windowIndex(WINDOW_MS)), WINDOW_MS);
  const t0 = 1_000_000;
  for (let i = 0; i < 100; i += 1) await window.remember(`old-${i}`, t0);
  for (let i = 0; i < 50; i += 1) await window.remember(`new-${i}`, t0 + 30_000);
  expect(sent).toHaveLength(150); // one changelog record per id, not two
  await produce(topic, sent);
  await original.close();

  const rebuilt = await LevelStore.open('ids', path.join(dir, 'rebuilt'));
  const { store, result } = await new RecoveryPartition({ kafka, namespace: 'local-index', topic, partition: 0, checkpointed: null, logger: rootLogger(), localIndex: windowIndex(WINDOW_MS) }).recover(rebuilt);
  try {
    expect(result.restored).toBe(150);
    const restoredWindow = new IdempotencyWindow(new ChangeloggedStore(store, null, windowIndex(WINDOW_MS)), WINDOW_MS);
    expect((await restoredWindow.seenAmong(['old-1', 'new-1', 'never'], t0 + 10_000)).size).toBe(2);
    // The old ids' window ended at t0 + 60 s, the new ones' at t0 + 90 s: the sweep reads exactly the derived index entries due.
    expect(await restoredWindow.sweep(t0 + WINDOW_MS, 1000)).toBe(100);
    expect(await restoredWindow.sweep(t0 + WINDOW_MS, 1000)).toBe(0);
    expect([...(await restoredWindow.seenAmong(['old-1', 'new-1'], t0 + WINDOW_MS))]).toEqual(['new-1']);
    expect(await restoredWindow.sweep(t0 + 90_000, 1000)).toBe(50);
  } finally {
    await store.close();
  }
});

it('a timer store rebuilt from its changelog finds exactly the pending ids, through reschedules, removals and index records of older versions', async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'wal-local-index-'));
  const topic = uniqueTopic('timers-changelog');
  await createTopic(topic);
  const sent: { key: Buffer; value: Buffer | null }[] = [];
  const original = await LevelStore.open('timers', path.join(dir, 'original'));
  const writer = new ChangelogWriter(topic, 0, { sendChangelog: (_t, _p, key, value) => sent.push({ key, value }) }, '0');
  const timers = new TimerStore(new ChangeloggedStore(original, writer, timerIdIndex));
  const entry = (id: string, dueAt: number): TimerEntry => ({ id, dueAt, key: null, value: Buffer.from(id), headers: {}, source: { topic: 'intake', partition: 0, offset: '0' }, attempts: 0 });

  // A record of an older version: an 'i' entry on the changelog for an id whose timer is gone. A restore must not take it.
  sent.push({ key: Buffer.from('ilegacy'), value: Buffer.alloc(8) });
  for (let i = 0; i < 20; i += 1) await timers.schedule(entry(`t-${i}`, 1_000 + i));
  await timers.schedule(entry('t-3', 5_000), { replace: true }); // a retry moves its timer
  await timers.schedule(entry('t-4', 1_004), { replace: true }); // to the same due time
  for (const id of ['t-0', 't-7', 't-19']) expect(await timers.remove(id)).toBe(true);
  await timers.flush();
  // 20 schedules + 2 moves (tombstone, put; the same key twice) + 3 removals + the pending count + the legacy record; no 'i' record of ours.
  expect(sent.filter((r) => r.key[0] === 0x69).map((r) => r.key.toString())).toEqual(['ilegacy']);
  await produce(topic, sent);
  await original.close();

  const rebuilt = await LevelStore.open('timers', path.join(dir, 'rebuilt'));
  const { store } = await new RecoveryPartition({ kafka, namespace: 'local-index', topic, partition: 0, checkpointed: null, logger: rootLogger(), localIndex: timerIdIndex }).recover(rebuilt);
  try {
    const restored = new TimerStore(new ChangeloggedStore(store, null, timerIdIndex));
    const expected = Array.from({ length: 20 }, (_, i) => `t-${i}`).filter((id) => !['t-0', 't-7', 't-19'].includes(id));
    expect([...(await restored.pendingAmong(['legacy', 't-0', 't-7', 't-19', ...expected]))].sort()).toEqual([...expected].sort());
    expect((await restored.get('t-3'))?.dueAt).toBe(5_000);
    expect((await restored.get('t-4'))?.dueAt).toBe(1_004);
    expect(await restored.pendingCount()).toBe(17);
    expect((await restored.due(10_000, 100)).map((e) => e.id)).toEqual(expected.filter((id) => id !== 't-3').concat('t-3'));
    // Removing after the restore finds the derived index entry and leaves nothing behind.
    expect(await restored.remove('t-3')).toBe(true);
    expect(await restored.isPending('t-3')).toBe(false);
  } finally {
    await store.close();
  }
});
