import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { runStatus } from '../../src/cli/commands/status';
import { statusFile } from '../../src/ops/instance';
import { testCluster, uniqueTopic } from '../support/clusters';
import { consumeUntil, createTopics } from '../support/runtime-fixtures/topics';
import { orTimeout } from '../support/timing';

jest.setTimeout(90_000);

const cluster = testCluster('A');
const kafka = new Kafka({ clientId: 'runtime-cli-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
const root = path.resolve(__dirname, '../..');

describe('wal start / wal status', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wal-cli-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('runs a namespace until SIGTERM, reports it in `wal status`, then commits everything and exits 0', async () => {
    const ns = uniqueTopic('cli');
    const configFile = path.join(dir, 'ns.yaml');
    await writeFile(
      configFile,
      [
        'clusters:',
        '  primary:',
        `    brokers: [${cluster.brokers.map((b) => `"${b}"`).join(', ')}]`,
        `    schemaRegistryUrl: ${cluster.registryUrl}`,
        'namespaces:',
        `  - name: ${ns}`,
        '    cluster: primary',
        '    partitions: 2',
        '    runtime:',
        '      commitIntervalMs: 500ms',
      ].join('\n'),
    );
    const stateDir = path.join(dir, 'state');
    // The passthrough's output is not a namespace topic (`--create-topics` does not make it).
    await createTopics(kafka, [{ topic: `wal.${ns}.out`, partitions: 2 }]);
    const args = ['start', '--topology', configFile, '--processor', 'passthrough', '--create-topics', '--state-dir', stateDir, '--instance-id', 'cli-1', '--shutdown-timeout', '20s'];
    const child = spawn(process.execPath, ['-r', path.join(root, 'test/support/runtime-fixtures/register-ts.js'), path.join(root, 'src/cli/main.ts'), ...args], {
      env: { ...process.env, WAL_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Running: the status file lists both partitions as tasks.
      let lines: string[] = [];
      const deadline = Date.now() + 40_000;
      while (Date.now() < deadline) {
        lines = [];
        await runStatus({ stateDir }, (l) => lines.push(l));
        if (lines.filter((l) => l.trim().startsWith('partition ')).length === 2) break;
        await sleep(300);
      }
      expect(lines[0]).toMatch(/^instance cli-1 \(pid \d+, running,/);
      expect(lines.join('\n')).toContain(`namespace ${ns} (group wal.${ns}, at-least-once, running): assigned [0, 1]`);

      const intake = `wal.${ns}.intake`;
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: intake, messages: Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, headers: { n: String(i) } })) });
      await producer.disconnect();
      const copied = await consumeUntil(kafka, `wal.${ns}.out`, (r) => r.length >= 300, 30_000);
      expect(copied.find((m) => m.key?.toString() === 'k7')?.headers?.n?.toString()).toBe('7');

      const brokerLines: string[] = [];
      await runStatus({ stateDir, topology: [configFile] }, (l) => brokerLines.push(l));
      expect(brokerLines.join('\n')).toMatch(new RegExp(`group wal\\.${ns} Stable, 1 member`));

      const stopAt = Date.now();
      child.kill('SIGTERM');
      const code = await orTimeout(exited, 25_000, 'timeout');
      expect({ code, output: code === 0 ? '' : out }).toEqual({ code: 0, output: '' });
      process.stdout.write(`stopped in ${Date.now() - stopAt} ms\n`);
      expect(Date.now() - stopAt).toBeLessThan(25_000);
      expect(out).toContain('shutting down: stop fetching, drain, commit, close stores');

      const admin = kafka.admin();
      await admin.connect();
      const [committed] = await admin.fetchOffsets({ groupId: `wal.${ns}`, topics: [intake] });
      const ends = await admin.fetchTopicOffsets(intake);
      await admin.disconnect();
      expect(committed.partitions.map((p) => `${p.partition}@${p.offset}`).sort()).toEqual(ends.map((e) => `${e.partition}@${e.high}`).sort());
      expect(existsSync(statusFile(stateDir, 'cli-1'))).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
