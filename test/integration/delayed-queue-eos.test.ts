import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWalWriter } from '../../src/api';
import { saveConfig } from '../../src/namespaces';
import { collect, delayedQueueNamespace, header, stopCollectors } from '../support/delayed-queue';
import { killStartedWal, startWalProcess, type WalProcess } from '../support/wal-cli';

jest.setTimeout(240_000);

afterAll(async () => {
  killStartedWal();
  await stopCollectors();
});

describe('delayed queue, exactly-once, under kill -9 (wal start as a process)', () => {
  it('delivers every record to a Kafka target on its own cluster exactly once (read_committed), through three kills mid-stream', async () => {
    const { config, namespace, out, kafka } = await delayedQueueNamespace({ extra: '    processingGuarantee: exactly-once' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-eos-'));
    const configFile = path.join(dir, 'ns.yaml');
    saveConfig(config, configFile);
    const stateDir = path.join(dir, 'state');
    // collect() reads read_committed (kafkajs' default): aborted transactions of killed instances are invisible.
    const received = await collect(kafka, out);
    const writer = createWalWriter({ config });

    const total = 2400;
    const ids: string[] = [];
    let wal: WalProcess = await startWalProcess({ configFile, stateDir, instanceId: 'eos-test' });
    const kills: number[] = [];
    for (let round = 0; round < 4; round += 1) {
      // A mix of already due and delayed (up to 3 s) records, so kills hit deliveries from the intake and from the timer store.
      const batch = Array.from({ length: total / 4 }, (_, j) => {
        const id = `e-${round}-${j}`;
        ids.push(id);
        return { namespace: namespace.name, id, lifecycle: { delayMs: j % 3 === 0 ? 0 : Math.floor(Math.random() * 3000) }, payload: { id } };
      });
      expect((await writer.writeBatch(batch)).filter((r) => r.durable !== 'true')).toEqual([]);
      if (round === 3) break;
      // Kill while it delivers: once some of this round's records arrived, a moment later.
      const before = received.messages.length;
      const deadline = Date.now() + 60_000;
      while (received.messages.length <= before) {
        if (Date.now() > deadline) throw new Error(`no delivery within 60 s of round ${round}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 400)));
      kills.push(received.messages.length);
      wal.child.kill('SIGKILL');
      await wal.exited;
      wal = await startWalProcess({ configFile, stateDir, instanceId: 'eos-test' });
    }
    await writer.close();
    await received.waitFor(total, 150_000);
    // Anything a duplicate would add arrives within a commit or two of the last record.
    await new Promise((r) => setTimeout(r, 3000));
    await received.stop();

    const seen = new Map<string, number>();
    for (const m of received.messages) {
      const id = header(m, 'wal-id')!;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    const duplicates = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    process.stdout.write(`${namespace.processingGuarantee}, 3 kill -9 (delivered before each: ${kills.join(', ')}): ${total} written, lost ${ids.filter((id) => !seen.has(id)).length}, duplicates ${duplicates.length}\n`);
        expect(ids.filter((id) => !seen.has(id))).toEqual([]);
    expect(duplicates).toEqual([]);
    expect(received.messages).toHaveLength(total);

    wal.child.kill('SIGTERM');
    expect(await wal.exited).toBe(0);
  });
});
