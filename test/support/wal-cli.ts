import { spawn } from 'node:child_process';
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
