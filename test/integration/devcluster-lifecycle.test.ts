import { ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../../dist/cli/main.js');
/** The JVM path on purpose, even when the suite itself uses clusters from the environment. */
const jvmEnv = { ...process.env, WAL_DEV_MODE: 'jvm', KAFKA_BROKERS: '', WAL_LOG_LEVEL: 'warn' };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('wal dev (JVM path)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-dev-'));
  afterAll(async () => {
    await run('node', [CLI, 'dev', 'down', '--dir', dir], { env: jvmEnv }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('up prints bootstrap addresses and a registry URL that answer; down stops every process', async () => {
    const up = await run('node', [CLI, 'dev', 'up', '--clusters', 'A', '--no-targets', '--no-sqs', '--dir', dir], { env: jvmEnv, timeout: 180000 });
    const brokers = /^export KAFKA_BROKERS=(.+)$/m.exec(up.stdout)?.[1];
    const registry = /^export SCHEMA_REGISTRY_URL=(.+)$/m.exec(up.stdout)?.[1];
    expect(brokers).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(registry).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7$/);

    // The CLI has exited: the cluster runs detached and answers real requests.
    const admin = new Kafka({ brokers: [brokers as string], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    expect((await admin.describeCluster()).brokers).toHaveLength(1);
    await admin.disconnect();
    expect((await fetch(`${registry}/subjects`)).status).toBe(200);

    const status = await run('node', [CLI, 'dev', 'status', '--dir', dir], { env: jvmEnv });
    expect(status.stdout).toMatch(/^running since/);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'cluster.json'), 'utf8')) as { clusters: Array<{ brokerPid: number; registryPid: number }> };
    const pids = state.clusters.flatMap((c) => [c.brokerPid, c.registryPid]);
    expect(pids.every(alive)).toBe(true);

    const down = await run('node', [CLI, 'dev', 'down', '--dir', dir], { env: jvmEnv, timeout: 60000 });
    expect(down.stdout).toContain('stopped 2 processes');
    expect(pids.some(alive)).toBe(false);
    await expect(run('node', [CLI, 'dev', 'status', '--dir', dir], { env: jvmEnv })).rejects.toMatchObject({ code: 3 });
  });

  it('leaves no JVM behind when the process that started the cluster is killed with SIGKILL', async () => {
    const script = `
      const { startDevCluster } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/devcluster'))});
      startDevCluster({ names: ['W'], mode: 'jvm', workDir: ${JSON.stringify(path.join(dir, 'watched'))} })
        .then((c) => { process.stdout.write(JSON.stringify(c.clusters[0]) + '\\n'); setInterval(() => {}, 1000); })
        .catch((e) => { process.stderr.write(String(e)); process.exit(1); });`;
    const starter: ChildProcess = spawn('node', ['-e', script], { env: jvmEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const record = await new Promise<{ brokerPid: number; registryPid: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('cluster did not start within 150 s')), 150000);
      let out = '';
      let err = '';
      starter.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(JSON.parse(out.split('\n')[0]));
        }
      });
      starter.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      starter.once('exit', (code) => reject(new Error(`starter exited ${code}: ${err}`)));
    });
    expect(alive(record.brokerPid) && alive(record.registryPid)).toBe(true);

    starter.kill('SIGKILL');
    await waitUntil('the broker and registry to be stopped by the watchdog', () => !alive(record.brokerPid) && !alive(record.registryPid), 40000);
  });
});
