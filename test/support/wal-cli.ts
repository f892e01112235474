import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

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
export async function startWalProcess(options: { configFile: string; stateDir: string; instanceId: string; sessionTimeout?: string }): Promise<WalProcess> {
  const args = ['start', '--topology', options.configFile, '--state-dir', options.stateDir, '--instance-id', options.instanceId, '--session-timeout', options.sessionTimeout ?? '8s'];
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
