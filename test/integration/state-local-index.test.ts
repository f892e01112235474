import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { IdempotencyWindow, windowIndex } from '../../src/delayed-queue/idempotency-window';
import { rootLogger } from '../../src/observability/logger';
import { ChangeloggedStore, ChangelogWriter, LevelStore, RecoveryPartition } from '../../src/state';
import { testCluster, uniqueTopic } from '../support/clusters';

// The idempotency window changelogs only its 'a' entries: its expiry index ('x') is local and must be
// derived again when a store is rebuilt from the changelog on a real broker, so expired ids are still swept.
const endpoints = testCluster('A');
const kafka = new Kafka({ clientId: 'local-index-test', brokers: endpoints.brokers, logLevel: logLevel.NOTHING });
const WINDOW_MS = 60_000;

let dir: string;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('a window rebuilt from its changelog derives its expiry index and sweeps what expired, nothing else', async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'wal-local-index-'));
  const topic = uniqueTopic('ids-changelog');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true }).finally(() => admin.disconnect());

  // Written through the window as a task does: the changelog records go to a real topic.
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const original = await LevelStore.open('ids', path.join(dir, 'original'));
  const sent: { key: Buffer; value: Buffer | null }[] = [];
  const writer = new ChangelogWriter(topic, 0, { sendChangelog: (_t, _p, key, value) => sent.push({ key, value }) }, '0');
  const window = new IdempotencyWindow(new ChangeloggedStore(original, writer, windowIndex(WINDOW_MS)), WINDOW_MS);
  const t0 = 1_000_000;
  for (let i = 0; i < 100; i += 1) await window.remember(`old-${i}`, t0);
  for (let i = 0; i < 50; i += 1) await window.remember(`new-${i}`, t0 + 30_000);
  expect(sent).toHaveLength(150); // one changelog record per id, not two
  await producer.send({ topic, acks: -1, messages: sent.map((r) => ({ key: r.key, value: r.value, partition: 0 })) });
  await producer.disconnect();
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
