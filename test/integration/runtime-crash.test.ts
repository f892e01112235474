import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, KafkaMessage, logLevel } from 'kafkajs';
import type { ProcessingGuarantee } from '../../src/namespaces/types';
import { testCluster, uniqueTopic } from '../support/clusters';
import { FixtureProcess, kill9, startFixture, terminate } from '../support/runtime-fixtures/child';
import { consumeUntil, countsReached, createTopics, describeCounts, latestByKey } from '../support/runtime-fixtures/topics';

jest.setTimeout(120_000);

const cluster = testCluster('A');
const kafka = new Kafka({ clientId: 'runtime-crash-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING });

/** Produces `total` records over `keys` keys in small chunks for a few seconds, while the instance gets killed. */
async function streamRecords(topic: string, total: number, keys: number, expected: Map<string, number>): Promise<void> {
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (let i = 0; i < total; i += 250) {
      const messages = [];
      for (let j = i; j < Math.min(i + 250, total); j++) {
        const key = `k${j % keys}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
        messages.push({ key, value: `v${j}` });
      }
      await producer.send({ topic, acks: -1, messages });
      await sleep(150);
    }
  } finally {
    await producer.disconnect();
  }
}

function valuesByKey(records: KafkaMessage[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of records) {
    const key = r.key!.toString();
    out.set(key, [...(out.get(key) ?? []), Number(r.value!.toString())]);
  }
  return out;
}

describe.each<ProcessingGuarantee>(['at-least-once', 'exactly-once'])('counting topology killed with SIGKILL (%s)', (guarantee) => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'wal-crash-'));
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  it(
    guarantee === 'exactly-once'
      ? 'ends with exactly the produced counts, each count emitted once (read_committed), and exits 0 on SIGTERM'
      : 'ends with at least the produced counts (over-counting only) and exits 0 on SIGTERM',
    async () => {
      const ns = uniqueTopic(guarantee === 'exactly-once' ? 'kill-eos' : 'kill-alos');
      const input = `${ns}.in`;
      const output = `${ns}.out`;
      await createTopics(kafka, [
        { topic: input, partitions: 4 },
        { topic: output, partitions: 4 },
      ]);
      const config = { brokers: cluster.brokers, namespace: ns, input, output, partitions: 4, guarantee, stateDir, instanceId: 'crashy', commitIntervalMs: 300 };
      const expected = new Map<string, number>();
      let instance: FixtureProcess = await startFixture('counting-instance', config);
      // Records keep arriving while the first instance processes and dies; the restarted ones catch up.
      const producing = streamRecords(input, 6000, 40, expected);
      const killedAfter: number[] = [];
      for (let round = 0; round < 2; round++) {
        const wait = 800 + Math.floor(Math.random() * 1500);
        killedAfter.push(wait);
        await sleep(wait);
        await kill9(instance);
        instance = await startFixture('counting-instance', config);
      }
      await producing;
      try {
        const records = await consumeUntil(kafka, output, countsReached(expected, guarantee === 'exactly-once'), 60_000, describeCounts(expected));
        const latest = latestByKey(records);
        const produced = [...expected.values()].reduce((a, b) => a + b, 0);
        const counted = [...expected.keys()].reduce((n, k) => n + Number(latest.get(k)), 0);
        process.stdout.write(`${guarantee}: killed after ${killedAfter.join(' ms, ')} ms; produced ${produced}, final counts sum ${counted}\n`);
        if (guarantee === 'exactly-once') {
          expect(counted).toBe(produced);
          // read_committed sees every count 1..n exactly once per key: no duplicate, no gap.
          for (const [key, values] of valuesByKey(records)) {
            expect({ key, values }).toEqual({ key, values: Array.from({ length: expected.get(key)! }, (_, i) => i + 1) });
          }
        } else {
          for (const [key, n] of expected) expect(Number(latest.get(key))).toBeGreaterThanOrEqual(n);
        }
      } finally {
        const code = await terminate(instance);
        expect(code).toBe(0);
      }
    },
  );
});
