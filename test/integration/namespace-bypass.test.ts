import type { Kafka } from 'kafkajs';
import { createHttpServer, createWalWriter, type WalWriter, type WriteResult } from '../../src/api';
import { metricsRegistry } from '../../src/observability/metrics';
import { configFile, delayedQueueNamespace } from '../support/delayed-queue';
import { eventually } from '../support/mirror-fixture';
import { runWal } from '../support/wal-cli';

jest.setTimeout(120_000);

const writers: WalWriter[] = [];
afterAll(async () => {
  await Promise.all(writers.map((w) => w.close()));
});

async function endOffsets(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

async function refusals(namespace: string): Promise<number> {
  const metric = (await metricsRegistry.getMetricsAsJSON()).find((m) => m.name === 'wal_writer_bypass_refusals_total');
  return (metric?.values ?? []).find((v) => v.labels.namespace === namespace)?.value ?? 0;
}

describe('wal namespace bypass (real broker): writers refuse while the WAL is switched off for a namespace', () => {
  it('refuses through the library writer, wal write and HTTP without touching the intake, and takes writes again once off', async () => {
    const { config, namespace, kafka } = await delayedQueueNamespace({ partitions: 1 });
    const file = configFile(config);
    const ns = namespace.name;
    const refusal = new RegExp(`namespace ${ns} is in bypass: wal takes no writes; write to your target directly or turn bypass off`);
    // A long-lived writer (as in `wal api`) that follows the state every 300 ms.
    const writer = createWalWriter({ config, stateRefreshMs: 300 });
    writers.push(writer);
    await writer.connect();
    expect(await writer.writeToLog({ namespace: ns, id: 'before', payload: 'x' })).toMatchObject({ durable: 'true' });

    const on = await runWal('namespace', ['bypass', ns, '--on', '-t', file, '--by', 'bypass-test']);
    expect(on.code).toBe(0);
    expect(on.stdout).toContain(`namespace ${ns}: running, bypass on (was running, bypass off)`);
    const shown = await runWal('namespace', ['state', ns, '-t', file]);
    expect(shown.stdout).toMatch(new RegExp(`${ns}\\s+\\S+\\s+running\\s+on\\s+\\S+\\s+bypass-test`));

    // The running writer notices within its refresh interval.
    let probe = 0;
    const refused = await eventually(
      async () => {
        const result = await writer.writeToLog({ namespace: ns, id: `probe-${probe++}`, payload: 'x' });
        return result.durable === 'false' ? result : undefined;
      },
      10_000,
      'the running writer refusing',
    );
    expect(refused).toMatchObject({ durable: 'false', reason: 'namespace-bypassed' });
    expect(refused.message).toMatch(refusal);
    const intake = await endOffsets(kafka, namespace.topics.intake);
    const counted = await refusals(ns);

    // A writer made now reads the state before its first write: refused at once.
    const fresh = createWalWriter({ config });
    writers.push(fresh);
    expect(await fresh.writeToLog({ namespace: ns, id: 'fresh-1', payload: 'x' })).toMatchObject({ durable: 'false', reason: 'namespace-bypassed', id: 'fresh-1' });

    // wal write: durable false, exit 1.
    const cli = await runWal('write', ['-n', ns, '-t', file, '--id', 'cli-1', '-p', '{"a":1}']);
    expect(cli.code).toBe(1);
    const cliResult = JSON.parse(cli.stdout) as WriteResult;
    expect(cliResult).toMatchObject({ durable: 'false', reason: 'namespace-bypassed', id: 'cli-1' });
    expect(cliResult.message).toMatch(refusal);

    // HTTP: 409 with the same result; the batch route answers per item.
    const app = createHttpServer({ writer, config });
    try {
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      const post = (route: string, body: unknown) => fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
      const single = await post('/v1/wal/write', { namespace: ns, id: 'http-1', payload: { a: 1 } });
      expect(single.status).toBe(409);
      const body = (await single.json()) as WriteResult;
      expect(body).toMatchObject({ durable: 'false', reason: 'namespace-bypassed', id: 'http-1' });
      expect(body.message).toMatch(refusal);
      const batch = await post('/v1/wal/write-batch', [
        { namespace: ns, id: 'http-2', payload: 1 },
        { namespace: ns, id: 'http-3', payload: 2 },
      ]);
      expect(batch.status).toBe(200);
      expect(await batch.json()).toMatchObject({ durable: { true: 0, false: 2, unknown: 0 }, results: [{ reason: 'namespace-bypassed' }, { reason: 'namespace-bypassed' }] });

      // Nothing reached the intake, and every in-process refusal was counted.
      expect(await endOffsets(kafka, namespace.topics.intake)).toBe(intake);
      expect(await refusals(ns)).toBe(counted + 4);

      // Off again: the writers take writes.
      const off = await runWal('namespace', ['bypass', ns, '--off', '-t', file]);
      expect(off.code).toBe(0);
      expect(off.stdout).toContain(`namespace ${ns}: running, bypass off (was running, bypass on)`);
      await eventually(
        async () => ((await writer.writeToLog({ namespace: ns, id: `after-${probe++}`, payload: 'x' })).durable === 'true' ? true : undefined),
        10_000,
        'the running writer taking writes again',
      );
      expect((await post('/v1/wal/write', { namespace: ns, id: 'http-after', payload: { a: 1 } })).status).toBe(200);
      const cliAfter = await runWal('write', ['-n', ns, '-t', file, '--id', 'cli-after', '-p', '{"a":1}']);
      expect(cliAfter.code).toBe(0);
      expect(JSON.parse(cliAfter.stdout)).toMatchObject({ durable: 'true', id: 'cli-after' });
      expect(await endOffsets(kafka, namespace.topics.intake)).toBeGreaterThanOrEqual(intake + 3);
    } finally {
      await app.close();
    }
  });

  it('rejects `wal namespace bypass` without exactly one of --on / --off, changing nothing', async () => {
    const { config, namespace } = await delayedQueueNamespace({ partitions: 1 });
    const file = configFile(config);
    const run = await runWal('namespace', ['bypass', namespace.name, '-t', file]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/exactly one of --on or --off/);
    const shown = JSON.parse((await runWal('namespace', ['state', namespace.name, '-t', file, '--json'])).stdout) as { namespaces: unknown[] };
    expect(shown.namespaces).toEqual([{ namespace: namespace.name, cluster: namespace.cluster, paused: false, bypass: false, updatedAt: '', by: '' }]);
  });
});
