import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/devcluster/ports';
import { isAlive, ManagedProcess, sleep, spawnManaged, stopProcessGroup, tailFile } from '../../src/devcluster/process';

/** A private redis-server for one test file: no persistence, its own port and dir. */
export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Stops the server (its data is in memory only, so it is gone), to test an outage. */
  halt(): Promise<void>;
  /** Starts it again, empty, on the same port; resolves once it answers PING. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

const INSTALL_HINT = 'run `bash scripts/install-system-deps.sh` (as root) to install redis-server from Debian packages';

/** redis-server from Debian's package (/usr/bin/redis-server, or $REDIS_SERVER). */
export async function startRedis(options: { startTimeoutMs?: number } = {}): Promise<RedisServer> {
  const binary = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
  if (!fs.existsSync(binary)) throw new Error(`redis-server not found at ${binary}: ${INSTALL_HINT}`);
  removeAbandonedDirs('wal-redis-');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-redis-'));
  fs.writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
  const logFile = path.join(dir, 'redis.log');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
  let proc: ManagedProcess | undefined;

  const launch = async (): Promise<void> => {
    proc = spawnManaged({ command: binary, args, cwd: dir, logFile, detach: false });
    await waitForPong(port, proc, logFile, options.startTimeoutMs ?? 15000);
  };
  const halt = async (): Promise<void> => {
    const running = proc;
    proc = undefined;
    if (running && !running.hasExited()) await stopProcessGroup(running.pid, 5000);
  };
  try {
    await launch();
  } catch (error) {
    await halt();
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
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

async function waitForPong(port: number, proc: ManagedProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.hasExited()) throw new Error(`redis-server exited during start-up; log:\n${tailFile(logFile)}`);
    if (await pong(port)) return;
    await sleep(50);
  }
  throw new Error(`redis-server did not answer PING on 127.0.0.1:${port} within ${timeoutMs} ms; log:\n${tailFile(logFile)}`);
}

function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
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
