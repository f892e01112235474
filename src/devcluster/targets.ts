import fs from 'node:fs';
import path from 'node:path';
import { DevClusterError, MissingToolError } from './errors';
import { findPostgresBin, startPostgres, stopPostgresPid } from './postgres';
import { isAlive, stopProcessGroup } from './process';
import { findRedisServer, startRedis } from './redis';

/**
 * The delivery targets the sample topologies write to (multi-table-mutation.yaml): one PostgreSQL
 * and one Redis beside the Kafka clusters, recorded in the same state file so `wal dev down` stops
 * them too.
 */
export interface PostgresRecord {
  /** postgres://wal:wal@127.0.0.1:<port>/wal: a role and database the sample topology can use. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Data dir, socket and postgres.log live under it; kept across `down`/`up`. */
  readonly dir: string;
  readonly version: string;
}

export interface RedisRecord {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
}

export interface DevTargetsRecord {
  readonly postgres: PostgresRecord;
  readonly redis: RedisRecord;
}

export interface DevTargetsOptions {
  /** The dev work dir; servers live in <workDir>/postgres and <workDir>/redis. */
  workDir: string;
  detach: boolean;
  onProgress?: (message: string) => void;
}

/** The role and database `wal dev up` creates, matching the sample topology's default URL. */
export const DEV_POSTGRES_APP = { user: 'wal', password: 'wal', database: 'wal' } as const;

/**
 * Throws MissingToolError naming every missing binary and both ways out, before anything slow starts.
 */
export function checkTargetBinaries(): void {
  const missing: string[] = [];
  for (const find of [findPostgresBin, findRedisServer]) {
    try {
      find();
    } catch (error) {
      if (!(error instanceof MissingToolError)) throw error;
      missing.push(error.message.replace(/: run `bash scripts\/install-system-deps\.sh`.*$/s, ''));
    }
  }
  if (missing.length > 0) {
    throw new MissingToolError(
      `${missing.join('; ')}. The sample topologies deliver to PostgreSQL and Redis: install them with ` +
        '`bash scripts/install-system-deps.sh` (as root, Debian packages), or start only Kafka with `wal dev up --no-targets`',
    );
  }
}

/** Starts PostgreSQL (role/database `wal`) and Redis concurrently; if one fails the other is stopped. */
export async function startDevTargets(options: DevTargetsOptions): Promise<{ record: DevTargetsRecord; stop(): Promise<void> }> {
  const progress = options.onProgress ?? (() => undefined);
  progress('starting PostgreSQL and Redis (Debian binaries)');
  const [pg, redis] = await Promise.allSettled([
    startPostgres({ dir: path.join(options.workDir, 'postgres'), detach: options.detach, app: DEV_POSTGRES_APP }),
    startRedis({ dir: path.join(options.workDir, 'redis'), detach: options.detach }),
  ]);
  if (pg.status === 'rejected' || redis.status === 'rejected') {
    await Promise.all([pg, redis].flatMap((s) => (s.status === 'fulfilled' ? [s.value.stop()] : [])));
    const reason = pg.status === 'rejected' ? pg.reason : (redis as PromiseRejectedResult).reason;
    throw reason instanceof Error ? reason : new DevClusterError(String(reason));
  }
  const record: DevTargetsRecord = {
    postgres: { url: pg.value.url, port: pg.value.port, pid: pg.value.pid, dir: pg.value.dir, version: pg.value.version },
    redis: { url: redis.value.url, port: redis.value.port, pid: redis.value.pid, dir: redis.value.dir },
  };
  progress(`PostgreSQL ${record.postgres.version} ready at ${record.postgres.url}; Redis ready at ${record.redis.url}`);
  return {
    record,
    stop: async () => {
      await Promise.all([pg.value.stop(), redis.value.stop()]);
    },
  };
}

/** Whether both recorded servers are still running. */
export function targetsAreRunning(record: DevTargetsRecord): boolean {
  return isAlive(record.postgres.pid) && isAlive(record.redis.pid);
}

/** Stops recorded servers that are still ours; returns how many were stopped. */
export async function stopRecordedTargets(record: DevTargetsRecord): Promise<number> {
  let stopped = 0;
  if (isAlive(record.postgres.pid) && processRunsIn(record.postgres.pid, record.postgres.dir)) {
    await stopPostgresPid(record.postgres.pid);
    stopped += 1;
  }
  if (isAlive(record.redis.pid) && processRunsIn(record.redis.pid, record.redis.dir)) {
    await stopProcessGroup(record.redis.pid, 5000);
    stopped += 1;
  }
  return stopped;
}

/**
 * Guards against killing an unrelated process that reused a recorded pid: ours run in the recorded
 * dir or below it (postgres changes into its data dir, redis into its --dir).
 */
export function processRunsIn(pid: number, dir: string): boolean {
  try {
    const cwd = path.resolve(fs.readlinkSync(`/proc/${pid}/cwd`));
    const root = path.resolve(dir);
    return cwd === root || cwd.startsWith(`${root}${path.sep}`);
  } catch {
    // No /proc (macOS): fall back to trusting the record.
    return process.platform !== 'linux';
  }
}
