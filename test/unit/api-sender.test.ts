import type { Kafka, Producer, ProducerBatch, RecordMetadata } from 'kafkajs';
import { createClusterSender, OutgoingRecord } from '../../src/api/sender';
import { createLogger } from '../../src/observability/logger';

/**
 * The sender's deadline and batching rules, over a scripted stand-in for the kafkajs producer (the
 * real-broker behaviour is covered by test/integration/write*.test.ts).
 */
function scriptedKafka(script: { connect?: () => Promise<void>; sendBatch?: (batch: ProducerBatch) => Promise<RecordMetadata[]> }) {
  const batches: ProducerBatch[] = [];
  const kafka = {
    producer: ({ createPartitioner }: { createPartitioner: () => (args: unknown) => number }) => {
      const partitioner = createPartitioner();
      return {
        events: { DISCONNECT: 'producer.disconnect' },
        on: () => () => undefined,
        connect: script.connect ?? (async () => undefined),
        disconnect: async () => undefined,
        sendBatch: async (batch: ProducerBatch) => {
          batches.push(batch);
          for (const message of batch.topicMessages![0].messages) {
            partitioner({ topic: 'intake', partitionMetadata: [{ partitionId: 0, leader: 0 }, { partitionId: 1, leader: 0 }], message });
          }
          return (script.sendBatch ?? (async () => []))(batch);
        },
      } as unknown as Producer;
    },
  } as unknown as Kafka;
  return { kafka, batches };
}

const logger = createLogger({}, { level: 'silent' });
const record = (key: string, deadline = Date.now() + 300): OutgoingRecord => ({ topic: 'intake', key, value: Buffer.from(key), headers: {}, timestamp: 1, deadline });

describe('cluster sender', () => {
  it('coalesces sends issued together into one batch and reports each record its own offset', async () => {
    const { kafka, batches } = scriptedKafka({
      sendBatch: async () => [
        { topicName: 'intake', partition: 0, errorCode: 0, baseOffset: '10' },
        { topicName: 'intake', partition: 1, errorCode: 0, baseOffset: '20' },
      ],
    });
    const sender = createClusterSender({ kafka, clusterName: 'A', timeoutMs: 1000, logger });
    const outcomes = await Promise.all(['a', 'b', 'c', 'd'].map((k) => sender.send(record(k))));
    expect(batches).toHaveLength(1);
    expect(outcomes.every((o) => o.status === 'acked')).toBe(true);
    const offsets = outcomes.map((o) => (o.status === 'acked' ? `${o.partition}:${o.offset}` : ''));
    // Per partition, offsets count up from the base offset in send order.
    expect(new Set(offsets).size).toBe(4);
    for (const p of [0, 1]) {
      const mine = offsets.filter((o) => o.startsWith(`${p}:`)).map((o) => Number(o.split(':')[1]));
      expect(mine).toEqual(mine.map((_, i) => (p === 0 ? 10 : 20) + i));
    }
    await sender.close();
  });

  it("answers 'ambiguous' at the deadline when the broker never acknowledges a send that began", async () => {
    const { kafka } = scriptedKafka({ sendBatch: () => new Promise(() => undefined) });
    const sender = createClusterSender({ kafka, clusterName: 'A', timeoutMs: 200, logger });
    const started = Date.now();
    expect(await sender.send(record('a', Date.now() + 200))).toMatchObject({ status: 'ambiguous', reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("answers 'not-sent' at the deadline while the producer is still connecting", async () => {
    const { kafka, batches } = scriptedKafka({ connect: () => new Promise(() => undefined) });
    const sender = createClusterSender({ kafka, clusterName: 'A', timeoutMs: 200, logger });
    expect(await sender.send(record('a', Date.now() + 200))).toMatchObject({ status: 'not-sent', reason: 'broker-unavailable' });
    expect(batches).toHaveLength(0);
  });

  it("answers 'not-sent' at once when the connection fails, and 'rejected' when the broker refuses", async () => {
    const refused = scriptedKafka({ connect: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')) });
    const down = createClusterSender({ kafka: refused.kafka, clusterName: 'A', timeoutMs: 5000, logger });
    expect(await down.send(record('a', Date.now() + 5000))).toEqual({ status: 'not-sent', reason: 'broker-unavailable', detail: "cannot connect to cluster 'A': connect ECONNREFUSED 127.0.0.1:1" });

    const tooLarge = Object.assign(new Error('too large'), { name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE' });
    const refusing = scriptedKafka({ sendBatch: async () => Promise.reject(tooLarge) });
    const sender = createClusterSender({ kafka: refusing.kafka, clusterName: 'A', timeoutMs: 5000, logger });
    expect(await sender.send(record('a', Date.now() + 5000))).toMatchObject({ status: 'rejected' });
  });

  it('lets the next flush wait for as many records as the last one carried, and goes as soon as they are queued', async () => {
    const { kafka, batches } = scriptedKafka({});
    // A linger far beyond the test's timeout: only the count can release the second flush.
    const sender = createClusterSender({ kafka, clusterName: 'A', timeoutMs: 60_000, lingerMs: 60_000, logger });
    await Promise.all(['a', 'b', 'c', 'd'].map((k) => sender.send(record(k, Date.now() + 60_000))));
    const next: Array<Promise<unknown>> = [];
    for (const k of ['e', 'f', 'g', 'h']) {
      next.push(sender.send(record(k, Date.now() + 60_000)));
      await new Promise((r) => setImmediate(r));
    }
    expect((await Promise.all(next)).every((o) => (o as { status: string }).status === 'acked')).toBe(true);
    expect(batches.map((b) => b.topicMessages![0].messages.length)).toEqual([4, 4]);
    await sender.close();
  });

  it('sends a lone caller at once, and waits no longer than lingerMs for callers that do not come back', async () => {
    const { kafka, batches } = scriptedKafka({});
    const lone = createClusterSender({ kafka, clusterName: 'A', timeoutMs: 60_000, lingerMs: 60_000, logger });
    // Each flush carried one record: the next expects one, so the 60 s linger never applies.
    for (const k of ['a', 'b', 'c']) expect(await lone.send(record(k, Date.now() + 60_000))).toMatchObject({ status: 'acked' });
    await lone.close();

    const sender = createClusterSender({ kafka, clusterName: 'A', timeoutMs: 60_000, lingerMs: 100, logger });
    await Promise.all(['d', 'e', 'f', 'g'].map((k) => sender.send(record(k, Date.now() + 60_000))));
    const started = Date.now();
    expect(await sender.send(record('h', Date.now() + 60_000))).toMatchObject({ status: 'acked' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(batches.map((b) => b.topicMessages![0].messages.length)).toEqual([1, 1, 1, 4, 1]);
    await sender.close();
  });

  it('answers queued records not-sent when closed', async () => {
    const { kafka } = scriptedKafka({ connect: () => new Promise(() => undefined) });
    const sender = createClusterSender({ kafka, clusterName: 'A', timeoutMs: 5000, logger });
    const pending = sender.send(record('a', Date.now() + 5000));
    await new Promise((r) => setImmediate(r));
    await sender.close();
    expect(await pending).toMatchObject({ status: 'not-sent', reason: 'writer-closed' });
    expect(await sender.send(record('b'))).toMatchObject({ status: 'not-sent', reason: 'writer-closed' });
  });
});
