import { setTimeout as sleep } from 'node:timers/promises';
import type { ProcessingGuarantee } from '../../src/namespaces/types';
import { testCluster, uniqueTopic } from '../support/clusters';
import { createTopic, kafkaFor, produceRecords, readTopic, type ReadRecord, type SourceRecord } from '../support/mirror-fixture';
import { FixtureProcess, kill9, startFixture, terminate } from '../support/runtime-fixtures/child';

jest.setTimeout(90_000);

const A = testCluster('A');
const B = testCluster('B');
const kafkaA = kafkaFor(A);
const kafkaB = kafkaFor(B);
const TOTAL = 6000;

function valuesByPartition(records: Array<{ partition: number; value: string }>): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const r of records) out.set(r.partition, [...(out.get(r.partition) ?? []), r.value]);
  return out;
}

async function endOffsetsSum(kafka: typeof kafkaA, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

const asValues = (records: ReadRecord[]) => records.map((r) => ({ partition: r.partition, value: r.message.value!.toString() }));

describe.each<ProcessingGuarantee>(['at-least-once', 'exactly-once'])('mirror killed with SIGKILL mid-stream (%s)', (guarantee) => {
  it(
    guarantee === 'exactly-once'
      ? 'ends with exactly the source records on the target, in source order per partition (read_committed)'
      : 'loses nothing: every source record reaches the target, duplicates only, order kept per partition',
    async () => {
      const ns = uniqueTopic(guarantee === 'exactly-once' ? 'mirror-kill-eos' : 'mirror-kill-alos');
      const topic = `${ns}.src`;
      await createTopic(kafkaA, topic, 3);
      const config = {
        clusters: [A, B],
        spec: { namespace: ns, source: 'A', target: 'B', topics: [topic], guarantee },
        instanceId: 'crashy',
        // Short session: a restarted instance waits for the killed member's session to expire before it gets partitions.
        tuning: { discoveryIntervalMs: 1000, lagIntervalMs: 1000, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitTimeMs: 200, maxBytesPerPartition: 64 * 1024 },
      };
      let instance: FixtureProcess = await startFixture('mirror-instance', config);
      // Records keep arriving while the mirror is killed and restarted.
      const producing = produceRecords(kafkaA, topic, { count: TOTAL, partitions: 3, tag: 'x', chunk: 150, pauseMs: 120 });
      let produced = false;
      void producing.then(() => (produced = true));
      const killedAfter: number[] = [];
      const kills: { onTarget: number; sourceDone: boolean }[] = [];
      for (let round = 0; round < 2; round++) {
        const wait = 700 + Math.floor(Math.random() * 1500);
        killedAfter.push(wait);
        await sleep(wait);
        kills.push({ onTarget: await endOffsetsSum(kafkaB, `A.${topic}`), sourceDone: produced });
        await kill9(instance);
        instance = await startFixture('mirror-instance', config);
      }
      const written: SourceRecord[] = await producing;
      try {
        const expected = new Set(written.map((r) => r.value));
        const missing = new Set(expected);
        let scanned = 0;
        const copied = await readTopic(
          kafkaB,
          `A.${topic}`,
          (records) => {
            for (; scanned < records.length; scanned++) missing.delete(records[scanned].message.value!.toString());
            return missing.size === 0;
          },
          60_000,
          { settleMs: guarantee === 'exactly-once' ? 3000 : 500 },
        );
        const duplicates = copied.length - new Set(copied.map((r) => r.message.value!.toString())).size;
        process.stdout.write(
          `${guarantee}: killed after ${killedAfter.join(' ms, ')} ms (target end offsets then: ${kills.map((k) => k.onTarget).join(', ')}); ` +
            `source ${TOTAL}, target ${copied.length}, duplicates ${duplicates}\n`,
        );
        // The kills really hit a running mirror: it had written part of the stream while the source was still growing.
        expect(kills.some((k) => k.onTarget > 0 && !k.sourceDone)).toBe(true);
        const want = valuesByPartition(written);
        const got = valuesByPartition(asValues(copied));
        if (guarantee === 'exactly-once') {
          expect(copied).toHaveLength(TOTAL);
          for (const [p, values] of want) expect({ p, values: got.get(p) }).toEqual({ p, values });
        } else {
          // First occurrences, per partition, are the source order; replays only repeat a suffix.
          for (const [p, values] of want) {
            const firsts = [...new Set(got.get(p) ?? [])];
            expect({ p, values: firsts }).toEqual({ p, values });
          }
        }
      } finally {
        const code = await terminate(instance);
        expect(code).toBe(0);
      }
    },
  );
});
