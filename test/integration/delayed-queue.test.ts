import { createWalWriter } from '../../src/api';
import { DLQ_HEADERS } from '../../src/wire/headers';
import { readDeadLetters } from '../../src/dlq/dead-letters';
import type { NamespaceRunner } from '../../src/engine';
import { startHttpTargetServer, respond, type HttpTargetServer } from '../support/http-target';
import { collect, configFile, delayedQueueNamespace, header, headerMap, percentile, startQueue, stopCollectors } from '../support/delayed-queue';
import { runWal } from '../support/wal-cli';

jest.setTimeout(120_000);

const running: NamespaceRunner[] = [];
afterEach(async () => {
  await Promise.allSettled(running.splice(0).map((r) => r.stop()));
  await stopCollectors();
});

describe('delayed queue on a real broker', () => {
  it('delivers 10 k records with random 0–5 s delays to a Kafka target, none before it is due', async () => {
    const { config, namespace, out, kafka } = await delayedQueueNamespace();
    const { runner } = await startQueue(config, namespace);
    running.push(runner);
    const received = await collect(kafka, out);
    const writer = createWalWriter({ config });

    const total = 10_000;
    const dueAtLeast = new Map<string, number>();
    for (let start = 0; start < total; start += 1000) {
      const requests = Array.from({ length: 1000 }, (_, j) => {
        const i = start + j;
        const delay = Math.floor(Math.random() * 5000);
        // Half by delay (due ≥ now + delay, writeTime is taken later), half by an explicit deliverAt.
        const lifecycle = i % 2 === 0 ? { delayMs: delay } : { deliverAt: Date.now() + delay };
        dueAtLeast.set(`r-${i}`, Date.now() + delay);
        return { namespace: namespace.name, id: `r-${i}`, lifecycle, payload: { i } };
      });
      const results = await writer.writeBatch(requests);
      expect(results.filter((r) => r.durable !== 'true')).toEqual([]);
    }
    await writer.close();

    await received.waitFor(total, 60_000);
    await new Promise((r) => setTimeout(r, 1000)); // let late duplicates show up
    await received.stop();

    const counts = new Map<string, number>();
    const lateness: number[] = [];
    for (const m of received.messages) {
      const id = header(m, 'wal-id') ?? m.key?.toString() ?? '';
      counts.set(id, (counts.get(id) ?? 0) + 1);
      const due = dueAtLeast.get(id);
      expect(due).toBeDefined();
      // The target record's timestamp is when the dispatcher produced it.
      expect(Number(m.timestamp)).toBeGreaterThanOrEqual(due as number);
      lateness.push(Number(m.timestamp) - (due as number));
    }
    expect(counts.size).toBe(total);
    const duplicates = received.messages.length - counts.size;
    process.stdout.write(
      `delayed queue, 10k records: duplicates ${duplicates}, lateness p50 ${percentile(lateness, 50)} ms, p99 ${percentile(lateness, 99)} ms, max ${Math.max(...lateness)} ms\n`,
    );
  });

  describe('with an HTTP target', () => {
    let server: HttpTargetServer;
    beforeEach(async () => {
      server = await startHttpTargetServer();
    });
    afterEach(async () => {
      await server.close();
    });

    async function queueWithHttp() {
      return delayedQueueNamespace({
        targets: `      hook: { type: http, url: "${server.url}", method: POST, timeoutMs: 2s }`,
        defaultTarget: 'hook',
      });
    }

    it('retries a target that fails 3 times with growing gaps, then delivers once', async () => {
      server.script(respond.failTimes(3));
      const { config, namespace } = await queueWithHttp();
      const { runner } = await startQueue(config, namespace);
      running.push(runner);
      const writer = createWalWriter({ config });
      expect((await writer.writeToLog({ namespace: namespace.name, id: 'flaky-1', payload: { hello: 'world' } })).durable).toBe('true');
      await writer.close();

      const deadline = Date.now() + 30_000;
      while (server.received.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(server.received).toHaveLength(4);
      expect(server.received.map((r) => r.headers['idempotency-key'])).toEqual(['flaky-1', 'flaky-1', 'flaky-1', 'flaky-1']);
      expect(JSON.parse(server.received[3].body.toString())).toEqual({ hello: 'world' });
      const times = server.received.map((r) => r.receivedAt);
      const gaps = times.slice(1).map((t, i) => t - (times[i]));
      // backoff 200 ms × 2^n with 20% jitter: ≥ 160, 320, 640 ms.
      expect(gaps[0]).toBeGreaterThanOrEqual(160);
      expect(gaps[1]).toBeGreaterThanOrEqual(320);
      expect(gaps[2]).toBeGreaterThanOrEqual(640);
      expect(gaps[2]).toBeGreaterThan(gaps[0]);
      await new Promise((r) => setTimeout(r, 1500));
      expect(server.received).toHaveLength(4);
    });

    it('dead-letters after maxRetries with the reason, `wal dlq list` shows it, and a replay is delivered once the target recovers', async () => {
      server.script(respond.always(503));
      const { config, namespace, kafka } = await queueWithHttp();
      const { runner } = await startQueue(config, namespace);
      running.push(runner);
      const writer = createWalWriter({ config });
      const before = Date.now();
      expect((await writer.writeToLog({ namespace: namespace.name, id: 'doomed-1', payload: 'x', headers: { tenant: 'acme' } })).durable).toBe('true');

      const dlq = await collect(kafka, namespace.topics.dlq);
      await dlq.waitFor(1, 30_000);
      const [dead] = dlq.messages;
      expect(header(dead, DLQ_HEADERS.kind)).toBe('exhausted');
      expect(header(dead, DLQ_HEADERS.attempts)).toBe('4'); // 1 try + maxRetries 3
      expect(header(dead, DLQ_HEADERS.reason)).toMatch(/503/);
      expect(header(dead, DLQ_HEADERS.id)).toBe('doomed-1');
      expect(header(dead, DLQ_HEADERS.target)).toBe('hook');
      expect(header(dead, DLQ_HEADERS.sourceTopic)).toBe(namespace.topics.intake);
      // The original record, byte for byte (its request headers, e.g. tenant, are inside the Avro value).
      const intake = await collect(kafka, namespace.topics.intake);
      await intake.waitFor(1, 10_000);
      await intake.stop();
      expect(dead.value).toEqual(intake.messages[0].value);
      expect(dead.key).toEqual(intake.messages[0].key);
      expect(Date.parse(header(dead, DLQ_HEADERS.firstFailureAt)!)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(header(dead, DLQ_HEADERS.lastFailureAt)!)).toBeGreaterThan(Date.parse(header(dead, DLQ_HEADERS.firstFailureAt)!));
      expect(server.received).toHaveLength(4);
      await dlq.stop();

      const letters = await readDeadLetters(kafka, namespace.topics.dlq, { ids: ['doomed-1'] });
      expect(letters).toHaveLength(1);
      const cli = ['--namespace', namespace.name, '--topology', configFile(config), '--id', 'doomed-1'];
      const listed = await runWal('dlq', ['list', ...cli], 60_000);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/id=doomed-1 {2}kind=exhausted {2}attempts=4 {2}target=hook\n {4}reason: .*503/);
      expect(listed.stdout).toContain(`from ${namespace.topics.intake}[`);
      expect(listed.stdout).toContain(`1 record(s) in ${namespace.topics.dlq}`);

      // Replay what the DLQ holds: same bytes back to the intake, fresh attempts.
      server.script(respond.ok());
      const replay = await runWal('dlq', ['replay', ...cli], 60_000);
      expect(replay).toMatchObject({ code: 0, stdout: expect.stringContaining('replayed 1 record(s)') });
      const deadline = Date.now() + 30_000;
      while (server.received.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(server.received).toHaveLength(5);
      expect(server.received[4].headers['idempotency-key']).toBe('doomed-1');
      // The replay is the original record again, without what the DLQ added.
      const replayedIntake = await collect(kafka, namespace.topics.intake);
      await replayedIntake.waitFor(2, 10_000);
      await replayedIntake.stop();
      const [written, replayed] = replayedIntake.messages;
      expect(replayed.value).toEqual(written.value);
      expect(headerMap(replayed)).toEqual(headerMap(written));
      await writer.close();
    });
  });

  it('dead-letters poison records with the reason and keeps delivering the partition', async () => {
    const { config, namespace, out, kafka } = await delayedQueueNamespace({ partitions: 1 });
    const { runner } = await startQueue(config, namespace);
    running.push(runner);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: namespace.topics.intake,
      messages: [
        { key: 'bad-1', value: Buffer.from('not avro at all') },
        { key: 'bad-2', value: Buffer.from([0, 0x7f, 0xff, 0xff, 0x01, 1, 2, 3]) }, // wire format, unknown schema id
      ],
    });
    await producer.disconnect();
    const writer = createWalWriter({ config });
    expect((await writer.writeToLog({ namespace: namespace.name, id: 'good-after-poison', payload: 'ok' })).durable).toBe('true');
    await writer.close();

    const delivered = await collect(kafka, out);
    await delivered.waitFor(1, 30_000);
    expect(header(delivered.messages[0], 'wal-id') ?? delivered.messages[0].key?.toString()).toBe('good-after-poison');
    await delivered.stop();

    const dlq = await collect(kafka, namespace.topics.dlq);
    await dlq.waitFor(2, 30_000);
    await dlq.stop();
    const reasons = dlq.messages.map((m) => [m.key?.toString(), header(m, DLQ_HEADERS.kind), header(m, DLQ_HEADERS.reason)]);
    expect(reasons[0]).toEqual(['bad-1', 'poison', expect.stringMatching(/MalformedRecord/)]);
    expect(reasons[1]).toEqual(['bad-2', 'poison', expect.stringMatching(/UnknownSchemaId|schema id/i)]);
    expect(dlq.messages[0].value?.toString()).toBe('not avro at all');
  });

  it('holds delays of one hour and three days as pending timers and fires them when the clock reaches them', async () => {
    const { config, namespace, out, kafka } = await delayedQueueNamespace({ partitions: 1 });
    let skew = 0;
    const clock = { now: () => Date.now() + skew };
    const { runner } = await startQueue(config, namespace, { clock });
    running.push(runner);
    const writer = createWalWriter({ config });
    const hour = 3_600_000;
    expect((await writer.writeToLog({ namespace: namespace.name, id: 'in-an-hour', lifecycle: { delayMs: hour }, payload: 'h' })).durable).toBe('true');
    expect((await writer.writeToLog({ namespace: namespace.name, id: 'in-three-days', lifecycle: { delayMs: 72 * hour }, payload: 'd' })).durable).toBe('true');
    await writer.close();

    const { metricsRegistry } = await import('../../src/observability/metrics');
    const pending = async (): Promise<number> => {
      const metric = (await metricsRegistry.getMetricsAsJSON()).find((m) => m.name === 'wal_delay_pending_timers');
      return (metric?.values ?? []).filter((v) => v.labels.namespace === namespace.name).reduce((sum, v) => sum + v.value, 0);
    };
    const received = await collect(kafka, out);
    const until = async (what: string, condition: () => Promise<boolean> | boolean, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!(await condition())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await until('two pending timers', async () => (await pending()) === 2, 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(received.messages).toHaveLength(0);

    skew = hour + 1000; // an hour later
    await received.waitFor(1, 20_000);
    expect(header(received.messages[0], 'wal-id') ?? received.messages[0].key?.toString()).toBe('in-an-hour');
    await until('one pending timer', async () => (await pending()) === 1, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(received.messages).toHaveLength(1);

    skew = 72 * hour + 1000; // three days later
    await received.waitFor(2, 20_000);
    expect(header(received.messages[1], 'wal-id') ?? received.messages[1].key?.toString()).toBe('in-three-days');
    await received.stop();
  });
});
