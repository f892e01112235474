import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'memjs';
import { MissingToolError } from './errors';
import { prepareServerDir, startLocalServer } from './local-server';
import { freePort } from './ports';
import { stopProcessGroup } from './process';

/** A private memcached: its own loopback port, items in memory only. */
export interface MemcachedServer {
  /** "127.0.0.1:<port>", as a memcached target's `servers` entry. */
  readonly address: string;
  readonly port: number;
  /** Holds memcached.log. */
  readonly dir: string;
  /** The server's pid (a new one after `resume()`). */
  readonly pid: number;
  /** Stops the server (its items are gone), to test an outage. */
  halt(): Promise<void>;
  /** Starts it again, empty, on the same port; resolves once a set and get go through. */
  resume(): Promise<void>;
  /** Stops the server; removes its dir when this call created it (no `dir` option). */
  stop(): Promise<void>;
}

export interface StartMemcachedOptions {
  startTimeoutMs?: number;
  /** Where the log goes; a fresh temp dir (removed by `stop()`) when absent. */
  dir?: string;
  /** Keep running after this Node process exits (the caller records `pid`); else a watchdog ends it. */
  detach?: boolean;
  /** Fixed port; a free one is picked when absent. */
  port?: number;
  /** Memory for items, MiB (memcached -m). */
  memoryMb?: number;
  /** Require SASL PLAIN (memcached -S) with this one user, kept in a sasldb in the server's dir. */
  sasl?: { username: string; password: string };
}

export const MEMCACHED_INSTALL_HINT = 'run `bash scripts/install-system-deps.sh` (as root) to install memcached from Debian packages';

/** The memcached binary (Debian's /usr/bin/memcached, or $MEMCACHED); throws MissingToolError. */
export function findMemcached(): string {
  const binary = process.env.MEMCACHED ?? '/usr/bin/memcached';
  if (!fs.existsSync(binary)) throw new MissingToolError(`memcached not found at ${binary}: ${MEMCACHED_INSTALL_HINT}`);
  return binary;
}

/** memcached on a loopback port, TCP only. */
export async function startMemcached(options: StartMemcachedOptions = {}): Promise<MemcachedServer> {
  const binary = findMemcached();
  const serverDir = prepareServerDir('wal-memcached-', options);
  const port = options.port ?? (await freePort());
  // memcached refuses to run as root unless told which user to become; nobody needs no files but the sasldb.
  const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  const sasl = options.sasl ? ['-S'] : [];
  const env = options.sasl ? { SASL_CONF_PATH: writeSaslDb(serverDir.dir, options.sasl) } : undefined;
  const credentials = options.sasl ? { username: options.sasl.username, password: options.sasl.password } : {};
  return startLocalServer(
    {
      dir: serverDir,
      logFile: path.join(serverDir.dir, 'memcached.log'),
      command: binary,
      args: ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', String(options.memoryMb ?? 64), ...user, ...sasl],
      env,
      detach: options.detach ?? false,
      probe: {
        name: 'memcached',
        check: () => memcachedAnswers(port, 500, credentials),
        intervalMs: 50,
        timeoutMessage: (timeoutMs, last) => `memcached did not take a set and get on 127.0.0.1:${port} within ${timeoutMs} ms (${last})`,
      },
      startTimeoutMs: options.startTimeoutMs ?? 15000,
      stopPid: (pid) => stopProcessGroup(pid, 5000),
    },
    { address: `127.0.0.1:${port}`, port },
  );
}

/** null when memcached on 127.0.0.1:port stores a probe item and gives it back, else what failed. */
export async function memcachedAnswers(port: number, timeoutMs = 500, credentials: { username?: string; password?: string } = {}): Promise<string | null> {
  const client = Client.create(`127.0.0.1:${port}`, {
    retries: 1,
    timeout: timeoutMs / 1000,
    conntimeout: timeoutMs / 1000,
    logger: { log: () => undefined },
    ...credentials,
  });
  const probe = `wal-probe-${process.pid}-${Date.now()}`;
  try {
    await client.set(probe, 'ok', { expires: 10 });
    const { value } = await client.get(probe);
    return value?.toString() === 'ok' ? null : 'the probe item did not come back';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    client.close();
  }
}

export const SASLPASSWD2_INSTALL_HINT = 'run `bash scripts/install-system-deps.sh` (as root) to install saslpasswd2 (sasl2-bin) from Debian packages';

/**
 * A Cyrus SASL config for memcached (PLAIN over a sasldb holding one user) in `dir`; returns the dir to
 * give memcached as SASL_CONF_PATH. saslpasswd2 (Debian's sasl2-bin) writes the sasldb.
 */
function writeSaslDb(dir: string, user: { username: string; password: string }): string {
  const saslpasswd2 = process.env.SASLPASSWD2 ?? '/usr/sbin/saslpasswd2';
  if (!fs.existsSync(saslpasswd2)) throw new MissingToolError(`saslpasswd2 not found at ${saslpasswd2}: ${SASLPASSWD2_INSTALL_HINT}`);
  const db = path.join(dir, 'sasldb2');
  fs.writeFileSync(path.join(dir, 'memcached.conf'), `mech_list: plain\nsasldb_path: ${db}\n`);
  const result = spawnSync(saslpasswd2, ['-p', '-a', 'memcached', '-c', '-f', db, user.username], { input: user.password, encoding: 'utf8' });
  if (result.status !== 0) throw new MissingToolError(`saslpasswd2 could not write ${db}: ${(result.stderr || String(result.error)).trim()}`);
  // memcached may run as nobody (see above): it must reach and read the db (a temp dir is 0700).
  fs.chmodSync(dir, 0o711);
  fs.chmodSync(db, 0o644);
  return dir;
}
