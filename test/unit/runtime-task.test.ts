import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Kafka, TopicMessages, TopicPartitionOffset } from 'kafkajs';
import { createLogger } from '../../src/observability/logger';
import { TopologyBuilder, type ProcessorContext, type Topology, type WalRecord } from '../../src/engine';
import { Task } from '../../src/engine/internals/task';
import type { TaskOutput } from '../../src/engine/internals/task-output';
import { DLQ_HEADERS } from '../../src/wire/headers';
import { relayTopology, tickerTopology } from '../support/processors';

/** Records what the task sends and commits, in order (no broker: this is the task's own logic). */
function fakeOutput() {
  const events: string[] = [];
  const sent: { topic: string; key: string | null; value: string | null; headers: Record<string, string>; partition?: number }[] = [];
  const output: TaskOutput = {
    guarantee: 'at-least-once',
    open: async () => undefined,
    send: async (batch: TopicMessages[]) => {
      for (const t of batch) {
        events.push(`send ${t.topic}`);
        for (const m of t.messages) {
          sent.push({ topic: t.topic, key: m.key?.toString() ?? null, value: m.value?.toString() ?? null, headers: (m.headers ?? {}) as Record<string, string>, partition: m.partition });
        }
      }
      return [];
    },
    commit: async (offsets: TopicPartitionOffset[]) => {
      events.push(`commit ${offsets.map((o) => `${o.topic}@${o.offset}`).join(',')}`);
    },
    abort: async () => undefined,
    close: async () => undefined,
  };
  return { output, events, sent };
}

const rec = (offset: number, value: string, key = 'k'): WalRecord => ({
  key: Buffer.from(key),
  value: Buffer.from(value),
  headers: { h: '1' },
  timestamp: 1000 + offset,
  topic: 'in',
  partition: 0,
  offset: String(offset),
});

describe('Task', () => {
  let stateDir: string;
  let task: Task | undefined;
  beforeEach(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'wal-task-'));
  });
  afterEach(async () => {
    await task?.close(false);
    task = undefined;
    await rm(stateDir, { recursive: true, force: true });
  });

  async function open(topology: Topology, output: TaskOutput, committed = new Map<string, string>()): Promise<Task> {
    task = await Task.open({
      kafka: {} as Kafka,
      namespace: 'ns',
      applicationId: 'wal.ns',
      partition: 0,
      topology,
      stateDir,
      logger: createLogger({}, { level: 'silent' }),
      clock: { now: () => 42 },
      output,
      loadCommitted: async () => committed,
      restoreStallTimeoutMs: 1000,
      onFailure: () => undefined,
    });
    return task;
  }

  it('runs processors depth-first, like Kafka Streams: a child forwards before its sibling runs', async () => {
    const order: string[] = [];
    const topology = relayTopology(order);
    const { output, sent } = fakeOutput();
    const t = await open(topology, output);
    await t.process(rec(0, 'x'));
    await t.flush();
    expect(order).toEqual(['a:x', 'a1:x>a', 'b:x']);
    expect(sent.map((s) => `${s.topic} ${s.value}`)).toEqual(['topic-a x>a>a1', 'topic-3 x>b']);
  });

  it('commits in order: output sent, then offsets (next offset after the last processed record)', async () => {
    const topology = new TopologyBuilder()
      .addSource('src', 'in')
      .addProcessor('p', () => {
        let ctx: ProcessorContext;
        return { init: (c) => void (ctx = c), process: (r) => ctx.forward({ key: r.key, value: r.value, partition: 3 }) };
      }, 'src')
      .addSink('out', 'out', 'p')
      .build();
    const { output, events, sent } = fakeOutput();
    const t = await open(topology, output);
    await t.process(rec(5, 'a'));
    await t.process(rec(6, 'b'));
    await t.commit();
    expect(events).toEqual(['send out', 'commit in@7']);
    expect(sent[0].partition).toBe(3);
    expect(sent[0].headers).toEqual({ h: '1' });
  });

  it('treats records below the committed offset as already processed', async () => {
    const topology = new TopologyBuilder().addSource('src', 'in').addProcessor('p', () => ({ process: () => undefined }), 'src').build();
    const t = await open(topology, fakeOutput().output, new Map([['in', '10']]));
    expect(t.alreadyProcessed('in', '9')).toBe(true);
    expect(t.alreadyProcessed('in', '10')).toBe(false);
  });

  it('dead-letters a record that throws in the one DLQ format (kind error, its error class), then carries on; a failing policy falls back to the DLQ', async () => {
    const build = (policy?: () => never) => {
      const builder = new TopologyBuilder()
        .addSource('src', 'in')
        .addProcessor('p', () => ({
          process: (r: WalRecord) => {
            if (r.value!.toString() === 'bad') throw new TypeError('cannot decode');
          },
        }), 'src')
        .setDeadLetterTopic('dlq');
      if (policy) builder.setErrorPolicy(policy);
      return builder.build();
    };
    const { output, events, sent } = fakeOutput();
    const t = await open(build(), output);
    await t.process(rec(0, 'bad'));
    await t.process(rec(1, 'good'));
    await t.commit();
    expect(sent).toEqual([
      {
        topic: 'dlq',
        key: 'k',
        value: 'bad',
        partition: undefined,
        headers: {
          h: '1',
          [DLQ_HEADERS.reason]: 'cannot decode',
          [DLQ_HEADERS.kind]: 'error',
          [DLQ_HEADERS.errorClass]: 'TypeError',
          [DLQ_HEADERS.attempts]: '1',
          [DLQ_HEADERS.firstFailureAt]: new Date(42).toISOString(),
          [DLQ_HEADERS.lastFailureAt]: new Date(42).toISOString(),
          [DLQ_HEADERS.sourceTopic]: 'in',
          [DLQ_HEADERS.sourcePartition]: '0',
          [DLQ_HEADERS.sourceOffset]: '0',
        },
      },
    ]);
    expect(events).toEqual(['send dlq', 'commit in@2']);

    await t.close(false);
    const second = fakeOutput();
    const t2 = await open(build(() => { throw new Error('policy broke'); }), second.output);
    await t2.process(rec(0, 'bad'));
    await t2.flush();
    expect(second.sent[0].headers[DLQ_HEADERS.reason]).toBe('error policy failed: policy broke');
    expect(second.sent[0].headers[DLQ_HEADERS.kind]).toBe('error');
  });

  it('fires punctuators on wall-clock time with no records arriving, and flushes what they forward', async () => {
    const topology = tickerTopology(20, 'ticks');
    const { output, sent } = fakeOutput();
    await open(topology, output);
    const deadline = Date.now() + 2000;
    while (sent.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(sent.slice(0, 2).map((s) => s.value)).toEqual(['tick@42', 'tick@42']);
  });

  it('keeps a store write off disk if the task closes dirty, and applies it on commit', async () => {
    const topology = new TopologyBuilder()
      .addSource('src', 'in')
      .addProcessor('p', () => {
        let ctx: ProcessorContext;
        return { init: (c) => void (ctx = c), process: (r) => ctx.getStore('local').put(r.key!, r.value!) };
      }, 'src')
      .addStore('local', { changelog: false }, 'p')
      .build();
    let t = await open(topology, fakeOutput().output);
    await t.process(rec(0, 'dropped', 'a'));
    await t.close(false);
    t = await open(topology, fakeOutput().output);
    await t.process(rec(1, 'kept', 'b'));
    await t.close(true);
    // Read back through a processor context: stores are visible to processors only.
    let ctx!: ProcessorContext;
    const reader = new TopologyBuilder()
      .addSource('src', 'in')
      .addProcessor('p', () => ({ init: (c) => void (ctx = c), process: () => undefined }), 'src')
      .addStore('local', { changelog: false }, 'p')
      .build();
    await open(reader, fakeOutput().output);
    const seen: string[] = [];
    for await (const [k, v] of ctx.getStore('local').range()) seen.push(`${k.toString()}=${v.toString()}`);
    expect(seen).toEqual(['b=kept']);
  });
});
