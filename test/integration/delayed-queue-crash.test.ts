import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWalWriter } from '../../src/api';
import { saveConfig } from '../../src/namespaces';
import { collect, delayedQueueNamespace, header, percentile, stopCollectors } from '../support/delayed-queue';
import { killStartedWal, startWalProcess } from '../support/wal-cli';

jest.setTimeout(180_000);

afterAll(async () => {
  killStartedWal();
  await stopCollectors();
});

describe('delayed queue under kill -9 (wal start as a process)', () => {
  it('delivers every pending timer after a crash and restart, none before it is due', async () => {
    const { config, namespace, out, kafka } = await delayedQueueNamespace();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-crash-'));
    const configFile = path.join(dir, 'ns.yaml');
    saveConfig(config, configFile);
    const stateDir = path.join(dir, 'state');
    const received = await collect(kafka, out);

    let wal = await startWalProcess({ configFile, stateDir, instanceId: 'crash-test' });
    const writer = createWalWriter({ config });
    const total = 3000;
    const dueAtLeast = new Map<string, number>();
    for (let start = 0; start < total; start += 500) {
      const batch = Array.from({ length: 500 }, (_, j) => {
        const id = `t-${start + j}`;
        const delay = 4000 + Math.floor(Math.random() * 6000);
        dueAtLeast.set(id, Date.now() + delay);
        return { namespace: namespace.name, id, lifecycle: { delayMs: delay }, payload: { id } };
      });
      expect((await writer.writeBatch(batch)).filter((r) => r.durable !== 'true')).toEqual([]);
    }
    await writer.close();
    // Let the instance take the records in and commit some of them; timers are pending (≥ 4 s away).
    await new Promise((r) => setTimeout(r, 1500));
    const deliveredBeforeCrash = received.messages.length;
    wal.child.kill('SIGKILL');
    await wal.exited;

    wal = await startWalProcess({ configFile, stateDir, instanceId: 'crash-test' });
    await received.waitFor(total, 90_000);
    await new Promise((r) => setTimeout(r, 1000));
    await received.stop();

    const seen = new Map<string, number>();
    const lateness: number[] = [];
    for (const m of received.messages) {
      const id = header(m, 'wal-id')!;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      expect(Number(m.timestamp)).toBeGreaterThanOrEqual(dueAtLeast.get(id)!);
      lateness.push(Number(m.timestamp) - dueAtLeast.get(id)!);
    }
    expect([...dueAtLeast.keys()].filter((id) => !seen.has(id))).toEqual([]);
    process.stdout.write(
      `kill -9 with ${total - deliveredBeforeCrash} timers pending: lost 0, duplicates ${received.messages.length - seen.size}, lateness p99 ${percentile(lateness, 99)} ms\n`,
    );

    wal.child.kill('SIGTERM');
    expect(await wal.exited).toBe(0);
  });
});
