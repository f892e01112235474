import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { ProcessStartError } from './errors';

export interface ManagedProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<number | null>;
  hasExited(): boolean;
}

export interface SpawnOptions {
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /**
   * When false (tests), a watchdog ends the process group as soon as this Node process dies, even by
   * kill -9, so an interrupted test run leaves no JVM behind. `wal dev up` detaches instead.
   */
  detach: boolean;
}

/**
 * Starts a long-running child (a broker or registry JVM) in its own process group, output to a log
 * file, so that `stopProcessGroup` can end it and anything it forked.
 */
export function spawnManaged(options: SpawnOptions): ManagedProcess {
  const log = fs.openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      detached: true,
      stdio: ['ignore', log, log],
    });
  } finally {
    fs.closeSync(log);
  }
  if (child.pid === undefined) {
    throw new ProcessStartError(`could not start ${options.command}: no process id (is it on PATH?)`);
  }
  const pid = child.pid;
  let ended = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      ended = true;
      resolve(code);
    });
    child.once('error', () => {
      ended = true;
      resolve(null);
    });
  });
  if (options.detach) {
    child.unref();
  } else {
    startWatchdog(pid);
    child.unref();
  }
  return { pid, logFile: options.logFile, exited, hasExited: () => ended };
}

/**
 * A tiny shell loop, in a session of its own, that polls this Node process and ends the child's
 * process group when Node is gone. Node cannot set PR_SET_PDEATHSIG, so this is the portable way.
 */
function startWatchdog(childPgid: number): void {
  const script = `
    while kill -0 ${process.pid} 2>/dev/null && kill -0 ${childPgid} 2>/dev/null; do sleep 1; done
    kill -TERM -${childPgid} 2>/dev/null; sleep 10; kill -KILL -${childPgid} 2>/dev/null; exit 0`;
  const watchdog = spawn('bash', ['-c', script], { detached: true, stdio: 'ignore' });
  watchdog.unref();
}

/** True while a process with this id exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGTERM to the whole group, then SIGKILL if it is still there after `graceMs`. Brokers shut down
 * cleanly on SIGTERM (they flush and close their logs), which keeps the next start fast.
 */
export async function stopProcessGroup(pid: number, graceMs = 15000): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  if (!isAlive(pid)) return;
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) {
    await sleep(100);
  }
  if (isAlive(pid)) signal('SIGKILL');
  while (isAlive(pid) && Date.now() < deadline + 5000) {
    await sleep(100);
  }
}

/** The last lines of a log file, for error messages that explain why a child died. */
export function tailFile(file: string, lines = 20): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Runs a short command to completion and returns its output; used for java/mvn probes. */
export function runSync(command: string, args: string[], cwd?: string): { code: number | null; output: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) return { code: null, output: String(result.error.message) };
  return { code: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
