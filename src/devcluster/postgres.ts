import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { MissingToolError, ProcessStartError } from './errors';
import { prepareServerDir, ReadinessProbe, removeServerDir, startLocalServer } from './local-server';
import { freePort } from './ports';
import { isAlive, sleep, stopProcessGroup } from './process';

/** A private PostgreSQL server: its own data dir, port and socket dir. */
export interface PostgresServer {
  /** Where clients connect: the app role's URL when one was asked for, else `superuserUrl`. */
  readonly url: string;
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth on loopback). */
  readonly superuserUrl: string;
  readonly port: number;
  /** Major version, from the binaries' directory (e.g. "17"). */
  readonly version: string;
  /** Holds the data dir, the socket and postgres.log. */
  readonly dir: string;
  /** The postmaster's pid (a new one after `resume()`). */
  readonly pid: number;
  /** Stops the server but keeps its data, to test an outage. */
  halt(): Promise<void>;
  /** Starts it again after `halt()`, same port and data; resolves once it accepts connections. */
  resume(): Promise<void>;
  /** Stops the server; removes its dir when this call created it (no `dir` option). */
  stop(): Promise<void>;
}

/** A login role and a database it owns, created on start when missing. */
export interface PostgresAppUser {
  user: string;
  password: string;
  database: string;
}

export interface StartPostgresOptions {
  startTimeoutMs?: number;
  /**
   * Keep the server here across starts (initdb only on first use; durable settings). Without it a
   * fresh temp dir is used with durability off (fast, throwaway: tests) and removed by `stop()`.
   */
  dir?: string;
  /**
   * Keep running after this Node process exits (`wal dev up`; the caller records `pid`). Otherwise
   * a watchdog ends the server as soon as this process dies, even by kill -9.
   */
  detach?: boolean;
  /** Fixed port; a free one is picked when absent. */
  port?: number;
  app?: PostgresAppUser;
}

export const POSTGRES_INSTALL_HINT = 'run `bash scripts/install-system-deps.sh` (as root) to install PostgreSQL from Debian packages';

/**
 * initdb + postgres from Debian's packages (/usr/lib/postgresql/<v>/bin, or $PG_BIN), on a loopback
 * port. PostgreSQL refuses to run as root, so under root the dir belongs to the `postgres` system
 * user and the server runs as that user (setpriv execs, so the pid we hold is the postmaster's).
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = findPostgresBin();
  const version = path.basename(path.dirname(bin));
  const asUser = serverUser();
  const serverDir = prepareServerDir('wal-pg-', options);
  const { dir, throwaway } = serverDir;
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  if (asUser) {
    fs.chownSync(dir, asUser.uid, asUser.gid);
    // A 0700 ancestor (mkdtemp, /root) would only surface as a cryptic initdb failure.
    if (spawnSync('test', ['-x', dir], asUser).status !== 0) {
      throw new ProcessStartError(
        `PostgreSQL runs as the "postgres" user, which cannot reach ${dir}: a parent directory is not traversable by others (chmod o+x it, or choose a dir elsewhere)`,
      );
    }
  }

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const init = spawnSync(
      path.join(bin, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-instructions', ...(throwaway ? ['--no-sync'] : [])],
      { encoding: 'utf8', cwd: dir, ...(asUser ?? {}) },
    );
    if (init.status !== 0) {
      removeServerDir(serverDir);
      throw new ProcessStartError(`initdb failed (${init.error?.message ?? `exit ${init.status}`}):\n${init.stdout}${init.stderr}`);
    }
  }

  const port = options.port ?? (await freePort());
  const superuserUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const app = options.app;
  const url = app
    ? `postgres://${encodeURIComponent(app.user)}:${encodeURIComponent(app.password)}@127.0.0.1:${port}/${encodeURIComponent(app.database)}`
    : superuserUrl;
  const serverArgs = [
    '-D', dataDir, '-p', String(port), '-k', dir, '-h', '127.0.0.1',
    '-c', 'max_connections=100', '-c', 'shared_buffers=16MB',
    // Throwaway data: durability off makes tests fast.
    ...(throwaway ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];
  return startLocalServer(
    {
      dir: serverDir,
      logFile,
      command: asUser ? 'setpriv' : path.join(bin, 'postgres'),
      args: asUser
        ? [`--reuid=${asUser.uid}`, `--regid=${asUser.gid}`, '--clear-groups', '--', path.join(bin, 'postgres'), ...serverArgs]
        : serverArgs,
      detach: options.detach ?? false,
      probe: acceptingConnections(superuserUrl),
      startTimeoutMs: options.startTimeoutMs ?? 30000,
      stopPid: (pid) => stopPostgresPid(pid),
      afterStart: app ? () => ensureAppUser(superuserUrl, app) : undefined,
    },
    { url, superuserUrl, port, version },
  );
}

/**
 * "Fast" shutdown (SIGINT): disconnects clients instead of waiting for them as SIGTERM would, which
 * matters when a wal instance still holds a pool. Works on a postmaster this process did not start.
 */
export async function stopPostgresPid(pid: number, graceMs = 10000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) await stopProcessGroup(pid, 2000);
}

/** The directory holding initdb and postgres; throws MissingToolError with the install hint. */
export function findPostgresBin(): string {
  const candidates = process.env.PG_BIN
    ? [process.env.PG_BIN]
    : safeReaddir('/usr/lib/postgresql')
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => path.join('/usr/lib/postgresql', v, 'bin'));
  const found = candidates.find((b) => fs.existsSync(path.join(b, 'initdb')) && fs.existsSync(path.join(b, 'postgres')));
  if (!found) {
    throw new MissingToolError(`PostgreSQL server binaries (initdb, postgres) not found under ${candidates.join(', ') || '/usr/lib/postgresql/*/bin'}: ${POSTGRES_INSTALL_HINT}`);
  }
  return found;
}

/** The `postgres` system user when we are root (PostgreSQL will not run as root), else null. */
function serverUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) throw new MissingToolError(`running as root but there is no "postgres" user to run PostgreSQL as: ${POSTGRES_INSTALL_HINT}`);
  return { uid: Number(uid), gid: Number(gid) };
}

/** Creates the role (login, password) and a database it owns, if missing; idempotent. */
async function ensureAppUser(superuserUrl: string, app: PostgresAppUser): Promise<void> {
  const client = new Client({ connectionString: superuserUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const role = client.escapeIdentifier(app.user);
    const password = client.escapeLiteral(app.password);
    const roles = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [app.user]);
    await client.query(`${roles.rowCount ? 'ALTER' : 'CREATE'} ROLE ${role} LOGIN PASSWORD ${password}`);
    const dbs = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [app.database]);
    if (!dbs.rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(app.database)} OWNER ${role}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Ready once a client can connect and run a query; the timeout error names the last failure. */
function acceptingConnections(url: string): ReadinessProbe {
  return {
    name: 'postgres',
    intervalMs: 100,
    check: async () => {
      const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        await client.query('SELECT 1');
        return null;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    timeoutMessage: (timeoutMs, lastError) => `postgres did not accept connections at ${url} within ${timeoutMs} ms (last error: ${lastError})`,
  };
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
