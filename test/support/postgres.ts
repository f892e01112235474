import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../src/devcluster/ports';
import { isAlive, ManagedProcess, sleep, spawnManaged, stopProcessGroup, tailFile } from '../../src/devcluster/process';

/** A private PostgreSQL server for one test file: its own data dir, port and socket dir. */
export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth on loopback). */
  readonly url: string;
  readonly port: number;
  readonly version: string;
  /** Stops the server but keeps its data, to test an outage. */
  halt(): Promise<void>;
  /** Starts it again after `halt()`, same port and data; resolves once it accepts connections. */
  resume(): Promise<void>;
  /** Stops the server and removes its data dir. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  startTimeoutMs?: number;
}

const INSTALL_HINT = 'run `bash scripts/install-system-deps.sh` (as root) to install PostgreSQL from Debian packages';

/**
 * initdb + postgres from Debian's packages (/usr/lib/postgresql/<v>/bin, or $PG_BIN), on a free
 * loopback port. PostgreSQL refuses to run as root, so under root the data dir belongs to the
 * `postgres` system user and the server runs as that user (setpriv execs, so the pid we hold is the
 * postmaster's). spawnManaged's watchdog ends the server if this Node process dies.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = findPostgresBin();
  const version = path.basename(path.dirname(bin));
  const asUser = serverUser();
  removeAbandonedDirs('wal-pg-');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-pg-'));
  fs.writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  if (asUser) fs.chownSync(dir, asUser.uid, asUser.gid);

  const init = spawnSync(
    path.join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
    { encoding: 'utf8', cwd: dir, ...(asUser ?? {}) },
  );
  if (init.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.error?.message ?? `exit ${init.status}`}):\n${init.stdout}${init.stderr}`);
  }

  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const serverArgs = [
    '-D', dataDir, '-p', String(port), '-k', dir, '-h', '127.0.0.1',
    // Throwaway data: durability off makes tests fast.
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
    '-c', 'max_connections=50', '-c', 'shared_buffers=16MB',
  ];
  let proc: ManagedProcess | undefined;

  const launch = async (): Promise<void> => {
    const command = asUser ? 'setpriv' : path.join(bin, 'postgres');
    const args = asUser
      ? [`--reuid=${asUser.uid}`, `--regid=${asUser.gid}`, '--clear-groups', '--', path.join(bin, 'postgres'), ...serverArgs]
      : serverArgs;
    proc = spawnManaged({ command, args, cwd: dir, logFile, detach: false });
    await waitUntilAccepting(url, proc, logFile, options.startTimeoutMs ?? 30000);
  };
  const halt = async (): Promise<void> => {
    const running = proc;
    proc = undefined;
    if (!running || running.hasExited()) return;
    // SIGINT = "fast" shutdown: disconnects clients instead of waiting for them (SIGTERM would).
    try {
      process.kill(running.pid, 'SIGINT');
    } catch {
      /* already gone */
    }
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      running.exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 10000))),
    ]);
    clearTimeout(timer);
    if (!stopped) await stopProcessGroup(running.pid, 2000);
  };

  try {
    await launch();
  } catch (error) {
    await halt();
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    port,
    version,
    halt,
    resume: async () => {
      if (proc && !proc.hasExited()) return;
      await launch();
    },
    stop: async () => {
      await halt();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function findPostgresBin(): string {
  const candidates = process.env.PG_BIN
    ? [process.env.PG_BIN]
    : safeReaddir('/usr/lib/postgresql')
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => path.join('/usr/lib/postgresql', v, 'bin'));
  const found = candidates.find((b) => fs.existsSync(path.join(b, 'initdb')) && fs.existsSync(path.join(b, 'postgres')));
  if (!found) throw new Error(`PostgreSQL server binaries (initdb, postgres) not found under ${candidates.join(', ') || '/usr/lib/postgresql/*/bin'}: ${INSTALL_HINT}`);
  return found;
}

/** The `postgres` system user when we are root (PostgreSQL will not run as root), else null. */
function serverUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) throw new Error(`running as root but there is no "postgres" user to run PostgreSQL as: ${INSTALL_HINT}`);
  return { uid: Number(uid), gid: Number(gid) };
}

async function waitUntilAccepting(url: string, proc: ManagedProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (proc.hasExited()) throw new Error(`postgres exited during start-up; log:\n${tailFile(logFile)}`);
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    } finally {
      await client.end().catch(() => undefined);
    }
    await sleep(100);
  }
  throw new Error(`postgres did not accept connections at ${url} within ${timeoutMs} ms (last error: ${lastError}); log:\n${tailFile(logFile)}`);
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

const OWNER_FILE = 'owner.pid';

/**
 * Dirs left by test processes that were killed (the watchdog ends their server, but nobody removes
 * the dir): removed when their owner process is gone.
 */
function removeAbandonedDirs(prefix: string): void {
  for (const entry of fs.readdirSync(os.tmpdir())) {
    if (!entry.startsWith(prefix)) continue;
    const dir = path.join(os.tmpdir(), entry);
    try {
      const owner = Number(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
      if (owner > 0 && !isAlive(owner)) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* not ours, or being created right now */
    }
  }
}
