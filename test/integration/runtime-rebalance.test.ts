import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import type { ProcessingGuarantee } from '../../src/namespaces/types';
import { NamespaceRunner, type NamespaceStatus } from '../../src/engine';
import { testCluster, uniqueTopic } from '../support/clusters';
import { countingTopology, testNamespace } from '../support/runtime-fixtures/counting';
import { addCounts, consumeUntil, countsReached, createTopics, describeCounts, produceKeyed } from '../support/runtime-fixtures/topics';
import { engineOptionsOf } from '../../src/personas';

jest.setTimeout(120_000);
process.env.WAL_LOG_LEVEL ??= 'warn';

const cluster = testCluster('A');
const kafka = new Kafka({ clientId: 'runtime-rebalance-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING });

/** Polls runners' status until `check` holds (each task opened, i.e. restored), or fails after `timeoutMs`. */
async function until(runners: NamespaceRunner[], check: (s: NamespaceStatus[]) => boolean, what: string, timeoutMs = 40_000): Promise<NamespaceStatus[]> {
  const deadline = Date.now() + timeoutMs;
  let last: NamespaceStatus[] = [];
  while (Date.now() < deadline) {
    last = await Promise.all(runners.map((r) => r.status()));
    if (check(last)) return last;
    await sleep(200);
  }
  throw new Error(`${what} not reached in ${timeoutMs} ms: ${JSON.stringify(last.map((s) => s.tasks.map((t) => t.partition)))}`);
}

const taskPartitions = (s: NamespaceStatus): number[] => s.tasks.map((t) => t.partition);

describe.each<ProcessingGuarantee>(['at-least-once', 'exactly-once'])('two instances of one namespace (%s)', (guarantee) => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('split the partitions; when one stops its tasks move with their state, and come back when it restarts', async () => {
    const ns = uniqueTopic(guarantee === 'exactly-once' ? 'rebal-eos' : 'rebal');
    const input = `${ns}.in`;
    const output = `${ns}.out`;
    await createTopics(kafka, [
      { topic: input, partitions: 4 },
      { topic: output, partitions: 4 },
    ]);
    const namespace = testNamespace(ns, { intake: input, partitions: 4, guarantee });
    const topology = countingTopology(input, output);
    const makeRunner = async (id: string) => {
      const stateDir = await mkdtemp(path.join(os.tmpdir(), `wal-${id}-`));
      dirs.push(stateDir);
      return (dir = stateDir) =>
        new NamespaceRunner({ kafka, engine: engineOptionsOf(namespace), topology, stateDir: dir, instanceId: id, tuning: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10000 } });
    };
    const newA = await makeRunner('a');
    const newB = await makeRunner('b');

    const a = newA();
    await a.start();
    let b = newB();
    await b.start();
    let [sa, sb] = await until([a, b], ([x, y]) => x.tasks.length === 2 && y.tasks.length === 2, 'a 2/2 split');
    expect([...taskPartitions(sa), ...taskPartitions(sb)].sort()).toEqual([0, 1, 2, 3]);
    const bPartitions = taskPartitions(sb);

    let expected = await produceKeyed(kafka, input, 2000, 40);
    await consumeUntil(kafka, output, countsReached(expected, true), 30_000, describeCounts(expected));

    // B leaves: A takes all four partitions and rebuilds B's state from the changelog.
    await b.stop();
    [sa] = await until([a], ([x]) => x.tasks.length === 4, 'a owns all four');
    for (const t of sa.tasks.filter((t) => bPartitions.includes(t.partition))) expect(t.restoredRecords).toBeGreaterThan(0);
    const more = await produceKeyed(kafka, input, 1000, 40, 2000);
    expected = addCounts(expected, more);
    await consumeUntil(kafka, output, countsReached(expected, true), 30_000, describeCounts(expected));

    // B comes back (same state dir): partitions are split again; B catches up from its checkpoints.
    b = newB();
    await b.start();
    [sa, sb] = await until([a, b], ([x, y]) => x.tasks.length === 2 && y.tasks.length === 2, 'the split again');
    const last = await produceKeyed(kafka, input, 1000, 40, 3000);
    expected = addCounts(expected, last);
    try {
      await consumeUntil(kafka, output, countsReached(expected, true), 30_000, describeCounts(expected));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
