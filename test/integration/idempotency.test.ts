import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createHttpServer, createWalWriter, type WalWriter } from '../../src/api';
import type { NamespaceRunner } from '../../src/engine';
import { saveConfig, type NamespaceConfig } from '../../src/namespaces';
import { collect, delayedQueueNamespace, header, startQueue, stopCollectors } from '../support/delayed-queue';
import { killStartedWal, startWalProcess } from '../support/wal-cli';

jest.setTimeout(150_000);

const running: NamespaceRunner[] = [];
const writers: WalWriter[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
  await Promise.all(writers.splice(0).map((w) => w.close()));
  await stopCollectors();
});
afterAll(() => killStartedWal());

/** A one-partition delayed-queue namespace (delay 0) with this idempotency window. */
async function windowed(windowMs: string) {
  const setup = await delayedQueueNamespace({ partitions: 1, extra: `    idempotency: { windowMs: ${windowMs} }` });
  const writer = createWalWriter({ config: setup.config });
  writers.push(writer);
  return { ...setup, writer };
}

async function write(writer: WalWriter, namespace: NamespaceConfig, id: string): Promise<void> {
  const result = await writer.writeToLog({ namespace: namespace.name, id, payload: `payload of ${id}` });
  expect(result).toMatchObject({ durable: 'true', id });
}

/**
 * The ids delivered to `topic`, once `last` arrived. One partition: had a duplicate been delivered,
 * it would have come before the marker written after it.
 */
async function deliveredUntil(kafka: Parameters<typeof collect>[0], topic: string, last: string): Promise<string[]> {
  const delivered = await collect(kafka, topic);
  const deadline = Date.now() + 45_000;
  const ids = () => delivered.messages.map((m) => header(m, 'wal-id') ?? m.key?.toString() ?? '');
  while (!ids().includes(last)) {
    if (Date.now() > deadline) throw new Error(`"${last}" not delivered within 45 s; delivered: ${ids().join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await delivered.stop();
  return ids();
}

describe('idempotency window (real broker)', () => {
  it('delivers an id written twice with delay 0, three seconds apart, once', async () => {
    const { config, namespace, out, kafka, writer } = await windowed('1h');
    running.push((await startQueue(config, namespace)).runner);
    await write(writer, namespace, 'order-1');
    expect(await deliveredUntil(kafka, out, 'order-1')).toEqual(['order-1']);
    await new Promise((r) => setTimeout(r, 3_000));
    await write(writer, namespace, 'order-1');
    await write(writer, namespace, 'marker');
    expect(await deliveredUntil(kafka, out, 'marker')).toEqual(['order-1', 'marker']);
  });

  it('drops the same id written again through the HTTP API', async () => {
    const { config, namespace, out, kafka, writer } = await windowed('1h');
    running.push((await startQueue(config, namespace)).runner);
    const app: FastifyInstance = createHttpServer({ writer, config });
    try {
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      const post = async (id: string) => {
        const response = await fetch(`${url}/v1/wal/write`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ namespace: namespace.name, id, payload: { id } }),
        });
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ durable: 'true', id });
      };
      await post('http-1');
      await post('http-1');
      await post('http-marker');
      expect(await deliveredUntil(kafka, out, 'http-marker')).toEqual(['http-1', 'http-marker']);
    } finally {
      await app.close();
    }
  });

  it('remembers the ids across a kill -9 of wal start and a restore from the changelog on a fresh state dir', async () => {
    const { config, namespace, out, kafka, writer } = await windowed('1h');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-idem-'));
    const configFile = path.join(dir, 'ns.yaml');
    saveConfig(config, configFile);
    const first = await startWalProcess({ configFile, stateDir: path.join(dir, 'state-1'), instanceId: 'idem-1' });
    await write(writer, namespace, 'crash-1');
    expect(await deliveredUntil(kafka, out, 'crash-1')).toEqual(['crash-1']);
    // Past a commit interval (500 ms): the id is in the changelog and the intake offset committed.
    await new Promise((r) => setTimeout(r, 2_000));
    first.child.kill('SIGKILL');
    await first.exited;

    // Another instance, on an empty state dir, rebuilds the window from its changelog.
    await startWalProcess({ configFile, stateDir: path.join(dir, 'state-2'), instanceId: 'idem-2' });
    await write(writer, namespace, 'crash-1');
    await write(writer, namespace, 'crash-marker');
    expect(await deliveredUntil(kafka, out, 'crash-marker')).toEqual(['crash-1', 'crash-marker']);
    killStartedWal();
  });

  it('delivers the id again once its window has passed', async () => {
    const { config, namespace, out, kafka, writer } = await windowed('2s');
    running.push((await startQueue(config, namespace)).runner);
    await write(writer, namespace, 'late-1');
    expect(await deliveredUntil(kafka, out, 'late-1')).toEqual(['late-1']);
    await new Promise((r) => setTimeout(r, 2_500));
    await write(writer, namespace, 'late-1');
    await write(writer, namespace, 'late-marker');
    expect(await deliveredUntil(kafka, out, 'late-marker')).toEqual(['late-1', 'late-1', 'late-marker']);
  });
});
