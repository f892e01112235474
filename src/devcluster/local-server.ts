import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcessStartError, ReadinessTimeoutError } from './errors';
import { ManagedProcess, sleep, spawnManaged, tailFile } from './process';
import { removeAbandonedDirs, writeOwnerFile } from './scratch';

// The skeleton shared by the servers the dev cluster runs from Debian packages (postgres,
// redis-server): a dir, one managed process on a loopback port, a readiness probe, halt / resume /
// stop. Each server's file says only what is its own: binary, arguments, probe, URL.

export interface ServerDir {
  readonly dir: string;
  /** True when the dir is a fresh temp dir: the server is throwaway and `stop()` removes the dir. */
  readonly throwaway: boolean;
}

/** The caller's `dir` (created if missing), else a fresh temp dir `<prefix>XXXXXX`. */
export function prepareServerDir(prefix: string, options: { dir?: string; detach?: boolean }): ServerDir {
  if (options.dir === undefined) {
    removeAbandonedDirs(prefix);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    // A detached server outlives us: its dir must not look abandoned to the next start.
    if (!options.detach) writeOwnerFile(dir);
    return { dir, throwaway: true };
  }
  const dir = path.resolve(options.dir);
  fs.mkdirSync(dir, { recursive: true });
  return { dir, throwaway: false };
}

/** Removes a throwaway dir; leaves a caller's dir alone. */
export function removeServerDir(serverDir: ServerDir): void {
  if (serverDir.throwaway) fs.rmSync(serverDir.dir, { recursive: true, force: true });
}

export interface ReadinessProbe {
  /** The server as errors name it ("postgres", "redis-server"). */
  readonly name: string;
  /** One attempt: null once the server serves, else what failed. */
  check(): Promise<string | null>;
  /** Pause between attempts. */
  readonly intervalMs: number;
  /** The timeout error's text (before "; log:" and the log's tail), given the last attempt's failure. */
  timeoutMessage(timeoutMs: number, lastFailure: string): string;
}

/** Polls `probe` until it succeeds; fails at once, with the log's tail, when the process exits. */
export async function waitUntilReady(proc: ManagedProcess, probe: ReadinessProbe, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastFailure = '';
  while (Date.now() < deadline) {
    if (proc.hasExited()) throw new ProcessStartError(`${probe.name} exited during start-up; log:\n${tailFile(proc.logFile)}`);
    const failure = await probe.check();
    if (failure === null) return;
    lastFailure = failure;
    await sleep(probe.intervalMs);
  }
  throw new ReadinessTimeoutError(`${probe.timeoutMessage(timeoutMs, lastFailure)}; log:\n${tailFile(proc.logFile)}`);
}

export interface LocalServerSpec {
  dir: ServerDir;
  logFile: string;
  command: string;
  args: string[];
  /** Added to this process's environment for the server. */
  env?: NodeJS.ProcessEnv;
  /** Keep running after this Node process exits; else a watchdog ends the server. */
  detach: boolean;
  probe: ReadinessProbe;
  startTimeoutMs: number;
  /** Ends the running server the way it wants to be ended. */
  stopPid(pid: number): Promise<void>;
  /** Runs once the first start is ready (e.g. provisioning); a failure undoes the start. */
  afterStart?(): Promise<void>;
}

/** What every local server offers; `startLocalServer` adds the caller's own fields (url, port...). */
export interface LocalServer {
  readonly dir: string;
  /** The server's pid (a new one after `resume()`; -1 while halted). */
  readonly pid: number;
  /** Stops the server but keeps its dir, to test an outage. */
  halt(): Promise<void>;
  /** Starts it again after `halt()`, same command; resolves once the probe succeeds. */
  resume(): Promise<void>;
  /** Stops the server; removes its dir when throwaway. */
  stop(): Promise<void>;
}

/**
 * Spawns the server, waits until its probe succeeds and returns `fields` plus the LocalServer
 * members. When the start fails the server is stopped and a throwaway dir removed before rethrowing.
 */
export async function startLocalServer<T extends object>(spec: LocalServerSpec, fields: T): Promise<T & LocalServer> {
  let proc: ManagedProcess | undefined;
  const launch = async (): Promise<void> => {
    proc = spawnManaged({ command: spec.command, args: spec.args, cwd: spec.dir.dir, logFile: spec.logFile, detach: spec.detach, env: spec.env });
    await waitUntilReady(proc, spec.probe, spec.startTimeoutMs);
  };
  const halt = async (): Promise<void> => {
    const running = proc;
    proc = undefined;
    if (running && !running.hasExited()) await spec.stopPid(running.pid);
  };

  try {
    await launch();
    await spec.afterStart?.();
  } catch (error) {
    await halt();
    removeServerDir(spec.dir);
    throw error;
  }
  return {
    ...fields,
    dir: spec.dir.dir,
    get pid() {
      return proc?.pid ?? -1;
    },
    halt,
    resume: async () => {
      if (proc && !proc.hasExited()) return;
      await launch();
    },
    stop: async () => {
      await halt();
      removeServerDir(spec.dir);
    },
  };
}
