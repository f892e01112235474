import { parseConfig, type NamespaceConfig, type WalConfig } from '../../src/namespaces';
import { backoffDelay, delayedQueueTopology } from '../../src/delayed-queue';
import { TopologyTestDriver } from '../../src/engine';
import { failed, OK } from '../../src/targets';
import { DLQ_HEADERS, INTAKE_HEADERS, KAFKA_TARGET_HEADERS } from '../../src/wire/headers';
import type { WriteToLogRequest } from '../../src/wire';
import { encodeRequest, LocalAvroCodec, writeRequest } from '../support/avro-codec';
import { ScriptedTarget } from '../support/scripted-target';
import { metricsRegistry } from '../../src/observability/metrics';

const T0 = 1_800_000_000_000;
const BACKOFF = { initialMs: 10, maxMs: 80, multiplier: 2, jitter: 0 };

function shopConfig(namespaceYaml = 'defaultTarget: out'): WalConfig {
  return parseConfig(
    `
clusters:
  primary: { brokers: 127.0.0.1:9092, schemaRegistryUrl: http://127.0.0.1:8081/apis/ccompat/v7 }
namespaces:
  - name: shop
    partitions: 1
    maxRetries: 3
    backoff: { initialMs: 10, maxMs: 80, multiplier: 2, jitter: 0 }
    delay: { defaultDelayMs: 0 }
    targets:
      out: { type: kafka, topic: shop.out }
      hook: { type: http, url: "http://127.0.0.1:9/hook" }
    ${namespaceYaml}
    runtime: { punctuationIntervalMs: 1 }
`,
    'shop.yaml',
  );
}

/** The delayed-queue topology of `shop` on the test driver, its targets scripted, time starting at T0. */
async function queue(config = shopConfig()) {
  const ns: NamespaceConfig = config.namespaces[0];
  const codec = new LocalAvroCodec();
  const targets = new Map<string, ScriptedTarget>();
  const made: string[] = [];
  const target = (name: string): ScriptedTarget => {
    if (!targets.has(name)) targets.set(name, new ScriptedTarget(name));
    return targets.get(name)!;
  };
  const topology = delayedQueueTopology(ns, {
    clusters: config.clusters,
    codec,
    targetFactory: (name) => (made.push(name), target(name)),
  });
  const driver = await TopologyTestDriver.create(topology, { namespace: ns.name, startTime: T0 });
  const write = async (id: string, overrides: Partial<WriteToLogRequest> = {}, headers: Record<string, string> = {}) => {
    const request = writeRequest(ns, id, { lifecycle: { writeTime: T0, delayMs: 0, deliverAt: null }, ...overrides });
    return { key: id, value: await encodeRequest(codec, ns, request), headers };
  };
  const delayed = (id: string, delayMs: number) => write(id, { lifecycle: { writeTime: T0, delayMs, deliverAt: null } });
  const delivered = (name = 'out') => target(name).delivered.map((d) => d.id);
  return { ns, codec, driver, target, made, write, delayed, delivered };
}

type Queue = Awaited<ReturnType<typeof queue>>;
let q: Queue;
let driver: TopologyTestDriver;
beforeEach(async () => {
  q = await queue();
  driver = q.driver;
});
afterEach(async () => {
  await driver.close();
});

describe('delay processor (through the topology test driver)', () => {
  it('delivers a request that is already due before its intake offset is committed, with its payload, headers and first attempt', async () => {
    await driver.pipeInput(q.ns.topics.intake, await q.write('now-1', { headers: { trace: 't-1' } }));
    expect(q.target('out').delivered).toEqual([
      { id: 'now-1', key: Buffer.from('now-1'), payload: Buffer.from('payload of now-1'), headers: { trace: 't-1' }, contentType: 'text/plain; charset=utf-8', attempt: 1, writeTime: expect.any(Number) },
    ]);
    expect(driver.readAllOutput(q.ns.topics.dlq)).toEqual([]);
  });

  it('never delivers a delayed request early: nothing at due - 1 ms, delivered at its due time', async () => {
    await driver.pipeInput(q.ns.topics.intake, await q.delayed('later', 50));
    await driver.advanceWallClockTime(49);
    expect(q.delivered()).toEqual([]);
    await driver.advanceWallClockTime(1);
    expect(q.delivered()).toEqual(['later']);
    expect(driver.now()).toBe(T0 + 50);
  });

  it('holds a request with deliverAt until that instant, whatever its write time', async () => {
    await driver.pipeInput(q.ns.topics.intake, await q.write('at', { lifecycle: { writeTime: T0 - 60_000, delayMs: null, deliverAt: T0 + 40 } }));
    await driver.advanceWallClockTime(39);
    expect(q.delivered()).toEqual([]);
    await driver.advanceWallClockTime(1);
    expect(q.delivered()).toEqual(['at']);
  });

  it('delivers in due order, not in the order requests arrived', async () => {
    await driver.pipeInputs(q.ns.topics.intake, [await q.delayed('c', 30), await q.delayed('a', 10), await q.delayed('b', 20)]);
    await driver.advanceWallClockTime(15);
    expect(q.delivered()).toEqual(['a']);
    await driver.advanceWallClockTime(15);
    expect(q.delivered()).toEqual(['a', 'b', 'c']);
  });

  it('keeps one timer per request id: a repeated write of a pending id is delivered once', async () => {
    await driver.pipeInputs(q.ns.topics.intake, [await q.delayed('dup', 30), await q.delayed('dup', 10)]);
    await driver.pipeInput(q.ns.topics.intake, await q.delayed('dup', 20));
    await driver.advanceWallClockTime(50);
    expect(q.delivered()).toEqual(['dup']);
  });

  it('retries a retriable failure after the backoff, counting attempts, then forgets the delivered timer', async () => {
    const out = q.target('out');
    out.answer = (d) => (d.attempt === 1 ? failed(true, 'ECONNREFUSED') : OK);
    await driver.pipeInput(q.ns.topics.intake, await q.write('flaky'));
    expect(out.tries.map((d) => d.attempt)).toEqual([1]);

    await driver.advanceWallClockTime(backoffDelay(1, BACKOFF) - 1);
    expect(out.tries).toHaveLength(1);
    await driver.advanceWallClockTime(1);
    expect(out.tries.map((d) => d.attempt)).toEqual([1, 2]);
    expect(q.delivered()).toEqual(['flaky']);

    await driver.advanceWallClockTime(100);
    expect(out.tries).toHaveLength(2);
    const timers: Buffer[] = [];
    for await (const [key] of driver.getStore('timers').range({ gte: Buffer.from('t'), lt: Buffer.from('u') })) timers.push(key);
    expect(timers).toEqual([]);
  });

  it('dead-letters after maxRetries retries, each after its backoff, with reason, kind, attempts and the intake record as it came', async () => {
    const out = q.target('out');
    out.answer = () => failed(true, 'ECONNREFUSED');
    const input = await q.write('doomed', {}, { trace: 't-9' });
    await driver.pipeInput(q.ns.topics.intake, input);
    const triedAt = [driver.now()];
    for (let retry = 1; retry <= q.ns.maxRetries; retry += 1) {
      await driver.advanceWallClockTime(backoffDelay(retry, BACKOFF) - 1);
      expect(out.tries).toHaveLength(retry);
      await driver.advanceWallClockTime(1);
      triedAt.push(driver.now());
    }
    expect(out.tries.map((d) => d.attempt)).toEqual([1, 2, 3, 4]);
    expect(triedAt.map((t) => t - T0)).toEqual([0, 10, 30, 70]);

    const letters = driver.readAllOutput(q.ns.topics.dlq);
    expect(letters).toHaveLength(1);
    expect(letters[0].key).toEqual(Buffer.from('doomed'));
    expect(letters[0].value).toEqual(input.value);
    expect(letters[0].headers).toMatchObject({
      trace: 't-9',
      [DLQ_HEADERS.kind]: 'exhausted',
      [DLQ_HEADERS.reason]: 'ECONNREFUSED',
      [DLQ_HEADERS.attempts]: '4',
      [DLQ_HEADERS.target]: 'out',
      [DLQ_HEADERS.id]: 'doomed',
      [DLQ_HEADERS.firstFailureAt]: new Date(T0).toISOString(),
      [DLQ_HEADERS.lastFailureAt]: new Date(T0 + 70).toISOString(),
      [DLQ_HEADERS.sourceTopic]: q.ns.topics.intake,
      [DLQ_HEADERS.sourceOffset]: '0',
    });
    await driver.advanceWallClockTime(200);
    expect(out.tries).toHaveLength(4);
  });

  it('dead-letters a permanent failure at once, without a retry', async () => {
    q.target('out').answer = () => failed(false, 'HTTP 400: bad payload');
    await driver.pipeInput(q.ns.topics.intake, await q.write('refused'));
    expect(driver.readAllOutput(q.ns.topics.dlq).map((r) => r.headers)).toEqual([
      expect.objectContaining({ [DLQ_HEADERS.kind]: 'permanent', [DLQ_HEADERS.reason]: 'HTTP 400: bad payload', [DLQ_HEADERS.attempts]: '1', [DLQ_HEADERS.target]: 'out' }),
    ]);
    await driver.advanceWallClockTime(200);
    expect(q.target('out').tries).toHaveLength(1);
  });

  it('dead-letters an intake record that is not Avro in wire format as poison, bytes unchanged', async () => {
    await driver.pipeInput(q.ns.topics.intake, { key: 'junk', value: 'not avro', headers: { from: 'test' } });
    const letter = driver.readOutput(q.ns.topics.dlq)!;
    expect(letter.value).toEqual(Buffer.from('not avro'));
    expect(letter.headers).toMatchObject({ from: 'test', [DLQ_HEADERS.kind]: 'poison', [DLQ_HEADERS.sourceOffset]: '0' });
    expect(letter.headers[DLQ_HEADERS.reason]).toMatch(/^MalformedRecordError: record starts with byte 110/);
    expect(q.made).toEqual([]);
  });

  it('dead-letters a well-formed request that breaks the namespace rules as poison', async () => {
    await driver.pipeInput(q.ns.topics.intake, await q.write('stranger', { namespace: 'other' }));
    expect(driver.readOutput(q.ns.topics.dlq)!.headers[DLQ_HEADERS.reason]).toMatch(/InvalidWriteRequestError: .*namespace/);
  });

  it('parks a record it cannot decode while the registry is away, and delivers it once the registry is back', async () => {
    const input = await q.write('parked');
    q.codec.registryDown = true;
    await driver.pipeInput(q.ns.topics.intake, input);
    expect(q.delivered()).toEqual([]);
    expect(driver.readAllOutput(q.ns.topics.dlq)).toEqual([]);
    q.codec.registryDown = false;
    await driver.advanceWallClockTime(backoffDelay(1, BACKOFF));
    expect(q.delivered()).toEqual(['parked']);
  });

  it('cancels a pending request on a cancel control record', async () => {
    await driver.pipeInput(q.ns.topics.intake, await q.delayed('cancel-me', 10));
    await driver.pipeInput(q.ns.topics.intake, { key: 'cancel-me', value: null, headers: { [INTAKE_HEADERS.control]: 'cancel' } });
    await driver.advanceWallClockTime(50);
    expect(q.delivered()).toEqual([]);
  });

  it('keeps its timers across a task reopen: a request pending before is delivered after', async () => {
    await driver.pipeInput(q.ns.topics.intake, await q.delayed('survivor', 10));
    await driver.reopen();
    await driver.advanceWallClockTime(10);
    expect(q.delivered()).toEqual(['survivor']);
  });
});

describe('dispatcher (through the delay topology)', () => {
  it('sends a request to the target it names, else to the namespace default, one batch per target', async () => {
    await driver.pipeInputs(q.ns.topics.intake, [await q.write('1', { target: 'hook' }), await q.write('2'), await q.write('3', { target: 'hook' })]);
    expect(q.delivered('hook')).toEqual(['1', '3']);
    expect(q.delivered('out')).toEqual(['2']);
  });

  it('sends a replay with a target override (wal dlq replay --to-target) to that target only, whatever the request named', async () => {
    const replayed = { [INTAKE_HEADERS.toTarget]: 'hook' };
    await driver.pipeInputs(q.ns.topics.intake, [await q.write('named-out', { target: 'out' }, replayed), await q.write('default', {}, replayed), await q.write('plain')]);
    expect(q.delivered('hook')).toEqual(['named-out', 'default']);
    expect(q.delivered('out')).toEqual(['plain']);
  });

  it('keeps the target override through a retry from the timer store', async () => {
    const hook = q.target('hook');
    hook.answer = (d) => (d.attempt === 1 ? failed(true, 'ECONNREFUSED') : OK);
    await driver.pipeInput(q.ns.topics.intake, await q.write('again', { target: 'out' }, { [INTAKE_HEADERS.toTarget]: 'hook' }));
    await driver.advanceWallClockTime(backoffDelay(1, BACKOFF));
    expect(hook.tries.map((d) => [d.id, d.attempt])).toEqual([['again', 1], ['again', 2]]);
    expect(q.target('out').tries).toEqual([]);
  });

  it('dead-letters a replay to a target the namespace does not have as permanent, naming it', async () => {
    await driver.pipeInput(q.ns.topics.intake, await q.write('nowhere', {}, { [INTAKE_HEADERS.toTarget]: 'gone' }));
    expect(driver.readOutput(q.ns.topics.dlq)!.headers).toMatchObject({ [DLQ_HEADERS.kind]: 'permanent', [DLQ_HEADERS.target]: 'gone', [DLQ_HEADERS.reason]: expect.stringMatching(/no target "gone"/) });
    expect(q.target('out').tries).toEqual([]);
  });

  it('builds each target once, on its first delivery, and closes it with the task', async () => {
    expect(q.made).toEqual([]);
    await driver.pipeInput(q.ns.topics.intake, await q.write('1'));
    await driver.pipeInput(q.ns.topics.intake, await q.write('2'));
    expect(q.made).toEqual(['out']);
    await driver.close();
    expect(q.target('out').closed).toBe(true);
  });

  it('dead-letters a request it cannot route (no target named, no default, several targets) as permanent', async () => {
    await driver.close();
    q = await queue(shopConfig(''));
    driver = q.driver;
    await driver.pipeInput(q.ns.topics.intake, await q.write('lost'));
    expect(driver.readOutput(q.ns.topics.dlq)!.headers).toMatchObject({ [DLQ_HEADERS.kind]: 'permanent', [DLQ_HEADERS.target]: 'unrouted', [DLQ_HEADERS.reason]: expect.stringMatching(/no defaultTarget/) });
  });

  it('treats a target that throws instead of answering as a retriable failure of the whole batch', async () => {
    const out = q.target('out');
    let calls = 0;
    out.deliver = async (batch) => {
      calls += 1;
      if (calls === 1) throw new Error('socket hang up');
      return batch.map(() => OK);
    };
    await driver.pipeInputs(q.ns.topics.intake, [await q.write('x'), await q.write('y')]);
    expect(calls).toBe(1);
    await driver.advanceWallClockTime(backoffDelay(1, BACKOFF));
    expect(calls).toBe(2);
    expect(driver.readAllOutput(q.ns.topics.dlq)).toEqual([]);
  });
});

describe('idempotency window (through the topology test driver)', () => {
  const duplicates = async (): Promise<number> => {
    const metric = (await metricsRegistry.getSingleMetric('wal_intake_duplicates_total')?.get())?.values.find((v) => v.labels.namespace === 'shop');
    return metric?.value ?? 0;
  };
  const windowed = (windowMs: string) => shopConfig(`defaultTarget: out\n    idempotency: { windowMs: ${windowMs} }`);
  const reopenWith = async (config: WalConfig) => {
    await driver.close();
    q = await queue(config);
    driver = q.driver;
  };

  it('delivers an id written twice (delay 0, the second write later) once, and counts the second as a duplicate', async () => {
    const before = await duplicates();
    await driver.pipeInput(q.ns.topics.intake, await q.write('order-1'));
    await driver.advanceWallClockTime(300);
    await driver.pipeInput(q.ns.topics.intake, await q.write('order-1'));
    expect(q.delivered()).toEqual(['order-1']);
    expect((await duplicates()) - before).toBe(1);
  });

  it('drops the second copy of an id within one fetched batch too', async () => {
    await driver.pipeInputs(q.ns.topics.intake, [await q.write('twice'), await q.write('twice'), await q.write('once')]);
    expect(q.delivered()).toEqual(['twice', 'once']);
  });

  it('remembers ids across a task closing and re-opening on its stores (what a restore rebuilds from the changelog)', async () => {
    await driver.pipeInput(q.ns.topics.intake, await q.write('kept'));
    await driver.reopen();
    await driver.pipeInput(q.ns.topics.intake, await q.write('kept'));
    expect(q.delivered()).toEqual(['kept']);
  });

  it('takes an id again once its window has passed, and the sweep forgets expired ids', async () => {
    await reopenWith(windowed('1s'));
    await driver.pipeInput(q.ns.topics.intake, await q.write('again'));
    await driver.advanceWallClockTime(1_000);
    const remembered = async () => {
      let n = 0;
      for await (const [key] of driver.getStore('ids').range()) if (key[0] === 0x61) n += 1;
      return n;
    };
    expect(await remembered()).toBe(0);
    await driver.pipeInput(q.ns.topics.intake, await q.write('again'));
    expect(q.delivered()).toEqual(['again', 'again']);
    expect(await remembered()).toBe(1);
  });

  it('never remembers a dead-lettered id (it was not delivered): a replay or a retry of it is a new attempt', async () => {
    // The first try is refused for good; the second write of the id is a new attempt, and goes through.
    q.target('out').answer = () => (q.target('out').tries.length === 1 ? failed(false, 'HTTP 400') : OK);
    await driver.pipeInput(q.ns.topics.intake, await q.write('replayed'));
    expect(driver.readAllOutput(q.ns.topics.dlq)).toHaveLength(1);
    await driver.pipeInput(q.ns.topics.intake, await q.write('replayed'));
    expect(q.delivered()).toEqual(['replayed']);
  });

  it('drops a parked copy that decodes after the same id was written again and delivered (registry away meanwhile)', async () => {
    const input = await q.write('parked-twice');
    q.codec.registryDown = true;
    await driver.pipeInput(q.ns.topics.intake, input);
    q.codec.registryDown = false;
    await driver.pipeInput(q.ns.topics.intake, input); // the client's retry, once the registry is back
    expect(q.delivered()).toEqual(['parked-twice']);
    await driver.advanceWallClockTime(backoffDelay(1, BACKOFF) * 2);
    expect(q.delivered()).toEqual(['parked-twice']);
  });

  it('keeps remembering an id the disabled DLQ retains: delivered once it goes through, a rewrite is still a duplicate', async () => {
    await reopenWith(shopConfig('defaultTarget: out\n    dlq: { enabled: false }'));
    q.target('out').answer = () => (q.target('out').tries.length === 1 ? failed(false, 'HTTP 400') : OK);
    await driver.pipeInput(q.ns.topics.intake, await q.write('retained'));
    await driver.advanceWallClockTime(BACKOFF.maxMs);
    expect(q.delivered()).toEqual(['retained']);
    await driver.pipeInput(q.ns.topics.intake, await q.write('retained'));
    await driver.advanceWallClockTime(BACKOFF.maxMs);
    expect(q.delivered()).toEqual(['retained']);
  });

  it('with windowMs 0 keeps only the pending-id check: a delivered id written again is delivered again', async () => {
    await reopenWith(windowed('0'));
    await driver.pipeInput(q.ns.topics.intake, await q.write('no-window'));
    await driver.pipeInput(q.ns.topics.intake, await q.write('no-window'));
    expect(q.delivered()).toEqual(['no-window', 'no-window']);
  });
});

describe('exactly-once delivery to a Kafka target on the namespace cluster (through the topology test driver)', () => {
  beforeEach(async () => {
    await driver.close();
    q = await queue(shopConfig('defaultTarget: out\n    processingGuarantee: exactly-once'));
    driver = q.driver;
  });

  it('writes the delivery as a sink record of the task (one commit with its offsets and store writes), not through the target client', async () => {
    await driver.pipeInput(q.ns.topics.intake, await q.write('eos-1', { headers: { trace: 't-1' } }));
    const out = driver.readAllOutput('shop.out');
    expect(out.map((r) => [r.key?.toString(), r.value?.toString(), r.headers])).toEqual([
      ['eos-1', 'payload of eos-1', { trace: 't-1', [KAFKA_TARGET_HEADERS.id]: 'eos-1', [KAFKA_TARGET_HEADERS.contentType]: 'text/plain; charset=utf-8' }],
    ]);
    expect(q.made).not.toContain('out');
  });

  it('does the same for a delayed request when its timer fires, and keeps other targets on their own clients', async () => {
    await driver.pipeInput(q.ns.topics.intake, await q.delayed('eos-later', 20));
    await driver.pipeInput(q.ns.topics.intake, await q.write('to-hook', { target: 'hook' }));
    expect(driver.readAllOutput('shop.out')).toEqual([]);
    await driver.advanceWallClockTime(20);
    expect(driver.readAllOutput('shop.out').map((r) => r.key?.toString())).toEqual(['eos-later']);
    expect(q.delivered('hook')).toEqual(['to-hook']);
    expect(q.made).toEqual(['hook']);
  });
});

describe('with the DLQ disabled (through the topology test driver)', () => {
  const disabledCount = async (action: string): Promise<number> =>
    (await metricsRegistry.getSingleMetric('wal_dlq_disabled_total')?.get())?.values.find((v) => v.labels.namespace === 'shop' && v.labels.action === action)?.value ?? 0;
  const withDlq = async (dlqYaml: string) => {
    await driver.close();
    q = await queue(shopConfig(`defaultTarget: out\n    dlq: ${dlqYaml}`));
    driver = q.driver;
  };

  it('retains what it would dead-letter: back in the timer store, tried again at the longest backoff, counted', async () => {
    await withDlq('{ enabled: false }');
    const before = await disabledCount('retained');
    q.target('out').answer = () => (q.target('out').tries.length === 1 ? failed(false, 'HTTP 400') : OK);
    await driver.pipeInput(q.ns.topics.intake, await q.write('kept'));
    expect(driver.readAllOutput(q.ns.topics.dlq)).toEqual([]);
    expect((await disabledCount('retained')) - before).toBe(1);
    await driver.advanceWallClockTime(BACKOFF.maxMs - 1);
    expect(q.delivered()).toEqual([]);
    await driver.advanceWallClockTime(1);
    expect(q.delivered()).toEqual(['kept']);
  });

  it('drops it only when told to (onDisabled: drop), and counts the drop', async () => {
    await withDlq('{ enabled: false, onDisabled: drop }');
    const before = await disabledCount('dropped');
    q.target('out').answer = () => failed(false, 'HTTP 400');
    await driver.pipeInput(q.ns.topics.intake, await q.write('gone'));
    await driver.advanceWallClockTime(BACKOFF.maxMs * 2);
    expect(q.target('out').tries).toHaveLength(1);
    expect(driver.readAllOutput(q.ns.topics.dlq)).toEqual([]);
    expect((await disabledCount('dropped')) - before).toBe(1);
  });
});
