import { ChildProcess, spawn } from 'node:child_process';

/** A child process whose output is kept (for failure messages) and whose exit can be awaited. */
export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  output(): string;
  readonly exited: Promise<number | null>;
  hasExited(): boolean;
}

export function spawnChild(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    // Long runs: keep the tail only.
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let ended = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      ended = true;
      resolve(code);
    }),
  );
  return { process: child, pid: child.pid ?? -1, output: () => out, exited, hasExited: () => ended };
}

/** Resolves with the first match of `pattern` in the child's output; rejects on exit or after `timeoutMs`. */
export function waitForOutput(child: Child, pattern: RegExp, timeoutMs: number, what: string): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const match = child.output().match(pattern);
      if (match) {
        done();
        resolve(match);
        return true;
      }
      return false;
    };
    const onData = () => void check();
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: not seen within ${timeoutMs} ms; output:\n${child.output().slice(-3000)}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.process.stdout!.off('data', onData);
      child.process.stderr!.off('data', onData);
    };
    child.process.stdout!.on('data', onData);
    child.process.stderr!.on('data', onData);
    void child.exited.then((code) => {
      if (!check()) {
        done();
        reject(new Error(`${what}: the process exited (${code}) first; output:\n${child.output().slice(-3000)}`));
      }
    });
    check();
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopChild(child: Child, graceMs = 20_000): Promise<number | null> {
  if (child.hasExited()) return child.exited;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
  }
}
