import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { testCluster } from './clusters';

export const ROOT = path.resolve(__dirname, '..', '..');
/** The built CLI entry point; `npm test` builds before it runs. */
export const WAL_MAIN = path.join(ROOT, 'dist', 'cli', 'main.js');

export interface WalRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI as a user would and collects its output; killed and rejected after `timeoutMs`.
 * `command` is checked in dist first, so a stale build fails with a message rather than "unknown command".
 */
export function runWal(command: string, args: string[], timeoutMs = 45_000): Promise<WalRun> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'commands', `${command}.js`))) {
    throw new Error(`${WAL_MAIN} has no ${command} command: run \`npm run build\` first (npm test does)`);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WAL_MAIN, command, ...args], { cwd: ROOT, env: { ...process.env, WAL_LOG_LEVEL: 'error' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wal ${command} ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface WalProcess {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
}

// Every `wal start` spawned here; killStartedWal (in afterAll) ends any a failed test left running,
// whose stdout pipe would otherwise keep jest from exiting.
const started = new Set<ChildProcess>();

export function killStartedWal(): void {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  started.clear();
}

/** `wal start` as a real process (kill -9 tests); resolves once it logged that it started, rejects after 60 s. */
export async function startWalProcess(options: { configFile: string; stateDir: string; instanceId: string; sessionTimeout?: string; extraArgs?: string[] }): Promise<WalProcess> {
  const args = ['start', '--topology', options.configFile, '--state-dir', options.stateDir, '--instance-id', options.instanceId, '--session-timeout', options.sessionTimeout ?? '8s', ...(options.extraArgs ?? [])];
  const child = spawn(process.execPath, [WAL_MAIN, ...args], { env: { ...process.env, WAL_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!out.includes('wal started')) {
    if (Date.now() > deadline) throw new Error(`wal start did not start within 60 s:\n${out.slice(-3000)}`);
    if (child.exitCode !== null) throw new Error(`wal start exited with ${child.exitCode}:\n${out.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => out, exited };
}

export interface WalApiProcess {
  /** `http(s)://host:port` as printed by `wal api`. */
  readonly base: string;
  /** Everything the process wrote so far (pino JSON lines on stdout). */
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then the exit code (SIGKILL and a rejection after 15 s). */
  stop(): Promise<number | null>;
}

/**
 * Starts `wal api <args>` from the built CLI and resolves once it prints "listening on <url>";
 * rejects with its output when it exits first or is not listening within 20 s.
 */
export function startWalApi(args: string[], env: NodeJS.ProcessEnv = {}): Promise<WalApiProcess> {
  const child = spawn(process.execPath, [WAL_MAIN, 'api', ...args], { cwd: ROOT, env: { ...process.env, WAL_LOG_LEVEL: 'warn', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([exited, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`wal api did not exit within 15 s of SIGTERM: ${stderr}`)), 15000)))]);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wal api did not listen within 20 s: ${stderr}`));
    }, 20000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`wal api exited with ${code} before listening: ${stderr}`));
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const match = /listening on (https?:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({ base: match[1], stdout: () => stdout, stderr: () => stderr, stop });
      }
    });
  });
}

/**
 * Writes a topology file with one namespace, `orders` on cluster A (1 partition, payloads up to 1 KiB,
 * intake `intake`), and creates its intake topic.
 */
export async function ordersNamespace(file: string, intake: string): Promise<void> {
  const cluster = testCluster('A');
  fs.writeFileSync(
    file,
    [
      'clusters:',
      `  A: { brokers: "${cluster.brokers.join(',')}", schemaRegistryUrl: "${cluster.registryUrl}" }`,
      'namespaces:',
      '  - name: orders',
      '    cluster: A',
      '    partitions: 1',
      `    topics: { intake: ${intake} }`,
      '    maxPayloadBytes: 1KiB',
      '',
    ].join('\n'),
  );
  const admin = new Kafka({ clientId: 'wal-cli-fixture', brokers: cluster.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: intake, numPartitions: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}
