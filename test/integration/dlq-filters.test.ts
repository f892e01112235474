import { createWalWriter } from '../../src/api';
import type { NamespaceRunner } from '../../src/engine';
import { collect, configFile, delayedQueueNamespace, startQueue, stopCollectors } from '../support/delayed-queue';
import { respond, startHttpTargetServer, type HttpTargetServer } from '../support/http-target';
import { runWal } from '../support/wal-cli';

jest.setTimeout(120_000);

let server: HttpTargetServer;
let runner: NamespaceRunner | undefined;
beforeAll(async () => {
  server = await startHttpTargetServer();
});
afterAll(async () => {
  await runner?.stop();
  await stopCollectors();
  await server.close();
});

describe('wal dlq list / replay filters (real broker)', () => {
  it('select by kind, target and reason; replay takes the same filters and leaves the rest', async () => {
    server.script(respond.always(400));
    const { config, namespace, kafka } = await delayedQueueNamespace({
      partitions: 1,
      targets: `      hook: { type: http, url: "${server.url}", method: POST, timeoutMs: 2s }`,
      defaultTarget: 'hook',
    });
    runner = (await startQueue(config, namespace)).runner;
    const writer = createWalWriter({ config });
    for (const id of ['refused-1', 'refused-2']) expect((await writer.writeToLog({ namespace: namespace.name, id, payload: id })).durable).toBe('true');
    await writer.close();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: namespace.topics.intake, messages: [{ key: 'junk-1', value: Buffer.from('not avro') }] });
    await producer.disconnect();
    const dlq = await collect(kafka, namespace.topics.dlq);
    await dlq.waitFor(3, 30_000);
    await dlq.stop();

    const cli = ['--namespace', namespace.name, '--topology', configFile(config)];
    const list = async (...filters: string[]) => {
      const run = await runWal('dlq', ['list', ...cli, ...filters], 60_000);
      expect(run.code).toBe(0);
      return [...run.stdout.matchAll(/id=(\S+) {2}kind=(\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
    };
    expect((await list()).sort()).toEqual(['offset-0-2 poison', 'refused-1 permanent', 'refused-2 permanent']);
    expect(await list('--kind', 'poison')).toEqual(['offset-0-2 poison']);
    expect(await list('--kind', 'permanent', '--target', 'hook')).toEqual(['refused-1 permanent', 'refused-2 permanent']);
    expect(await list('--reason', 'HTTP 40[0-9]', '--id', 'refused-2')).toEqual(['refused-2 permanent']);
    expect(await list('--target', 'elsewhere')).toEqual([]);
    const bad = await runWal('dlq', ['list', ...cli, '--reason', '(unclosed'], 30_000);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--reason "(unclosed": not a regular expression');

    // Replay only the refused ones, now that the target accepts: the poison record stays where it is.
    server.script(respond.ok());
    const before = server.received.length;
    const replay = await runWal('dlq', ['replay', ...cli, '--kind', 'permanent'], 60_000);
    expect(replay).toMatchObject({ code: 0, stdout: expect.stringContaining('replayed 2 record(s)') });
    const deadline = Date.now() + 30_000;
    const ids = () => server.received.slice(before).map((r) => String(r.headers['idempotency-key']));
    while (ids().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(ids().sort()).toEqual(['refused-1', 'refused-2']);
  });

  it('with the DLQ disabled keeps a refused record and tries it again at the longest backoff, never dropping it', async () => {
    await runner?.stop();
    server.script(respond.failTimes(1, 400));
    const { config, namespace, kafka } = await delayedQueueNamespace({
      partitions: 1,
      targets: `      hook: { type: http, url: "${server.url}", method: POST, timeoutMs: 2s }`,
      defaultTarget: 'hook',
      extra: '    dlq: { enabled: false }',
    });
    runner = (await startQueue(config, namespace)).runner;
    const before = server.received.length;
    const writer = createWalWriter({ config });
    const started = Date.now();
    expect((await writer.writeToLog({ namespace: namespace.name, id: 'kept-1', payload: 'x' })).durable).toBe('true');
    await writer.close();
    const deadline = Date.now() + 30_000;
    while (server.received.length - before < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const tries = server.received.slice(before);
    expect(tries.map((r) => r.headers['idempotency-key'])).toEqual(['kept-1', 'kept-1']);
    // Retried after backoff.maxMs (2 s), not at once: it sat in the timer store meanwhile.
    expect(tries[1].receivedAt - tries[0].receivedAt).toBeGreaterThanOrEqual(1_900);
    expect(tries[1].receivedAt - started).toBeLessThan(15_000);
    const admin = kafka.admin();
    await admin.connect();
    const topics = await admin.listTopics();
    await admin.disconnect();
    expect(topics).not.toContain(namespace.topics.dlq);
  });
});
