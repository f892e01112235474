import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { runStatus } from '../../src/cli/commands/status';
import { testCluster, uniqueTopic } from '../support/clusters';
import { consumeUntil, createTopics } from '../support/runtime-fixtures/topics';
import { orTimeout } from '../support/timing';

jest.setTimeout(90_000);

const cluster = testCluster('A');
const kafka = new Kafka({ clientId: 'observability-status-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
const root = path.resolve(__dirname, '../..');

/** A TCP port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `wal <args>` from the TypeScript sources, as a separate process. */
function wal(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string; stdout: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['-r', path.join(root, 'test/support/runtime-fixtures/register-ts.js'), path.join(root, 'src/cli/main.ts'), ...args], {
    env: { ...process.env, WAL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, stdout: () => stdout, exited };
}

/** The table row of `namespace`, split into cells (header names as keys). */
function tableRow(lines: readonly string[], namespace: string): Record<string, string> | undefined {
  const header = lines.find((l) => l.startsWith('INSTANCE'));
  const row = lines.find((l) => l.split(/\s{2,}/)[1] === namespace);
  if (!header || !row) return undefined;
  const names = header.split(/\s{2,}/);
  const cells = row.split(/\s{2,}/);
  return Object.fromEntries(names.map((n, i) => [n, cells[i] ?? '']));
}

describe('wal status --admin', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wal-status-admin-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads a running instance through its admin port into a table, and names an endpoint that does not answer', async () => {
    const ns = uniqueTopic('stadm');
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
    await createTopics(kafka, [{ topic: `wal.${ns}.out`, partitions: 2 }]);
    const port = await freePort();
    const dead = `http://127.0.0.1:${await freePort()}`;
    const url = `http://127.0.0.1:${port}`;
    const instance = wal(
      ['start', '--topology', configFile, '--processor', 'passthrough', '--create-topics', '--state-dir', path.join(dir, 'state'), '--instance-id', 'adm-1', '--shutdown-timeout', '20s'],
      { WAL_ADMIN_PORT: String(port) },
    );
    try {
      const producer = kafka.producer();
      await producer.connect();
      // The instance creates the intake topic itself (--create-topics): wait for it.
      const intake = `wal.${ns}.intake`;
      for (let sent = false; !sent; ) {
        sent = await producer.send({ topic: intake, messages: Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) }).then(
          () => true,
          async () => {
            await sleep(300);
            return false;
          },
        );
      }
      await producer.disconnect();
      await consumeUntil(kafka, `wal.${ns}.out`, (r) => r.length >= 300, 40_000);

      // In-process: poll until the scrape shows every record processed and the namespace ready.
      let lines: string[] = [];
      let code = -1;
      const deadline = Date.now() + 30_000;
      for (;;) {
        lines = [];
        code = await runStatus({ admin: [url] }, (l) => lines.push(l));
        const row = tableRow(lines, ns);
        if (code === 0 && row && Number(row.PROCESSED) >= 300 && row.READY === 'yes' && row.LAG === '0') break;
        if (Date.now() > deadline) throw new Error(`status never showed 300 processed and ready:\n${lines.join('\n')}\n--- instance output:\n${instance.output()}`);
        await sleep(300);
      }
      expect(lines[0]).toBe(`${url}: ready`);
      expect(tableRow(lines, ns)).toMatchObject({ INSTANCE: `127.0.0.1:${port}`, NAMESPACE: ns, READY: 'yes', TASKS: '2', RESTORING: '0', LAG: '0', DLQ: '0' });

      // As an operator runs it: one reachable and one dead endpoint → a line each, the table, exit 1, no stack trace.
      const status = wal(['status', '--admin', url, dead, '--admin-timeout', '2s']);
      const exit = await orTimeout(status.exited, 30_000, 'timeout');
      const out = status.stdout().split('\n');
      expect({ exit, output: status.output() }).toMatchObject({ exit: 1 });
      expect(out).toContain(`${url}: ready`);
      expect(out.find((l) => l.startsWith(`${dead}: `))).toMatch(new RegExp(`^${dead}: UNREACHABLE: ${dead}/(metrics|ready): .*ECONNREFUSED`));
      expect(Number(tableRow(out, ns)?.PROCESSED)).toBeGreaterThanOrEqual(300);
      expect(status.output()).not.toMatch(/\n\s+at /);
      process.stdout.write(`[wal status --admin] exit ${exit}\n${status.stdout()}`);

      instance.child.kill('SIGTERM');
      expect(await orTimeout(instance.exited, 25_000, 'timeout')).toBe(0);
    } finally {
      instance.child.kill('SIGKILL');
    }
  });
});
