import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface FixtureProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout/stderr so far (for failure messages). */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

/** Starts test/support/runtime-fixtures/<script>.ts in its own node process; resolves once it printed {"event":"started"}. */
export async function startFixture(script: string, config: object, timeoutMs = 30000): Promise<FixtureProcess> {
  const child = spawn(process.execPath, ['-r', path.join(__dirname, 'register-ts.js'), path.join(__dirname, `${script}.ts`)], {
    env: { ...process.env, WAL_FIXTURE: JSON.stringify(config), WAL_LOG_LEVEL: process.env.WAL_FIXTURE_LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  if (process.env.WAL_FIXTURE_LOG_DIR) {
    const file = path.join(process.env.WAL_FIXTURE_LOG_DIR, `${script}-${Date.now()}.log`);
    void exited.then(() => writeFileSync(file, out));
  }
  const fixture = { child, output: () => out, exited };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // The caller never gets a handle to stop it: kill it here, or it outlives the run.
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = () => {
      if (out.includes('{"event":"started"}')) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before starting:\n${out}`));
    });
  });
  return fixture;
}

/** SIGKILL and wait for the process to be gone. */
export async function kill9(fixture: FixtureProcess): Promise<void> {
  fixture.child.kill('SIGKILL');
  await fixture.exited;
}

/** SIGTERM; resolves with the exit code, rejects if it takes longer than `timeoutMs`. */
export async function terminate(fixture: FixtureProcess, timeoutMs = 30000): Promise<number | null> {
  fixture.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fixture.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no exit ${timeoutMs} ms after SIGTERM:\n${fixture.output()}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
