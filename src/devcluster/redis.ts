import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { MissingToolError } from './errors';
import { prepareServerDir, startLocalServer } from './local-server';
import { freePort } from './ports';
import { stopProcessGroup } from './process';

/** A private redis-server: no persistence, its own port and dir. */
export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Holds redis.log. */
  readonly dir: string;
  /** The server's pid (a new one after `resume()`). */
  readonly pid: number;
  /** Stops the server (its data is in memory only, so it is gone), to test an outage. */
  halt(): Promise<void>;
  /** Starts it again, empty, on the same port; resolves once it answers PING. */
  resume(): Promise<void>;
  /** Stops the server; removes its dir when this call created it (no `dir` option). */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  startTimeoutMs?: number;
  /** Where the log goes; a fresh temp dir (removed by `stop()`) when absent. */
  dir?: string;
  /** Keep running after this Node process exits (the caller records `pid`); else a watchdog ends it. */
  detach?: boolean;
  /** Fixed port; a free one is picked when absent. */
  port?: number;
}

export const REDIS_INSTALL_HINT = 'run `bash scripts/install-system-deps.sh` (as root) to install redis-server from Debian packages';

/** The redis-server binary (Debian's /usr/bin/redis-server, or $REDIS_SERVER); throws MissingToolError. */
export function findRedisServer(): string {
  const binary = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
  if (!fs.existsSync(binary)) throw new MissingToolError(`redis-server not found at ${binary}: ${REDIS_INSTALL_HINT}`);
  return binary;
}

/** redis-server on a loopback port, in memory only (a cache: nothing to keep across restarts). */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const binary = findRedisServer();
  const serverDir = prepareServerDir('wal-redis-', options);
  const port = options.port ?? (await freePort());
  return startLocalServer(
    {
      dir: serverDir,
      logFile: path.join(serverDir.dir, 'redis.log'),
      command: binary,
      args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', serverDir.dir, '--daemonize', 'no'],
      detach: options.detach ?? false,
      probe: {
        name: 'redis-server',
        check: async () => ((await redisPong(port)) ? null : 'no PONG'),
        intervalMs: 50,
        timeoutMessage: (timeoutMs) => `redis-server did not answer PING on 127.0.0.1:${port} within ${timeoutMs} ms`,
      },
      startTimeoutMs: options.startTimeoutMs ?? 15000,
      stopPid: (pid) => stopProcessGroup(pid, 5000),
    },
    { url: `redis://127.0.0.1:${port}`, port },
  );
}

/** True when a Redis server on 127.0.0.1:port answers PING with PONG. */
export function redisPong(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
