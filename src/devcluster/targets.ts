import fs from 'node:fs';
import path from 'node:path';
import { startCassandra } from './cassandra';
import { DevClusterError, MissingToolError } from './errors';
import { checkJava } from './maven';
import { findMemcached, startMemcached } from './memcached';
import { findPostgresBin, startPostgres, stopPostgresPid } from './postgres';
import { isAlive, stopProcessGroup } from './process';
import { findRedisServer, startRedis } from './redis';

/**
 * The delivery targets the sample topologies write to (multi-table-mutation.yaml, cache-replication.yaml):
 * one PostgreSQL, one Redis, a memcached per region (A and B) and one Cassandra node beside the Kafka
 * clusters, recorded in the same state file so `wal dev down` stops them too.
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

export interface MemcachedRecord {
  /** "127.0.0.1:<port>", as a memcached target's `servers` entry. */
  readonly address: string;
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
}

export interface CassandraRecord {
  /** "127.0.0.1:<native port>", as a cassandra target's `contactPoints` entry. */
  readonly contactPoint: string;
  readonly localDataCenter: string;
  readonly pid: number;
  readonly dir: string;
  readonly version: string;
}

export interface DevTargetsRecord {
  readonly postgres: PostgresRecord;
  readonly redis: RedisRecord;
  /** Absent in records written before memcached joined: read as "not running", so it gets started. */
  readonly memcached?: MemcachedRecord;
  /** Region B's memcached (cache-replication.yaml); absent in older records, read likewise. */
  readonly memcachedB?: MemcachedRecord;
  /** Likewise for Cassandra (a JVM from Maven Central jars). */
  readonly cassandra?: CassandraRecord;
}

export interface DevTargetsOptions {
  /** The dev work dir; servers live in <workDir>/postgres, <workDir>/redis, <workDir>/memcached, <workDir>/memcached-b, <workDir>/cassandra. */
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
  for (const find of [findPostgresBin, findRedisServer, findMemcached, checkJava]) {
    try {
      find();
    } catch (error) {
      if (!(error instanceof MissingToolError)) throw error;
      missing.push(error.message.replace(/: run `bash scripts\/install-system-deps\.sh`.*$/s, ''));
    }
  }
  if (missing.length > 0) {
    throw new MissingToolError(
      `${missing.join('; ')}. The sample topologies deliver to PostgreSQL, Redis and memcached: install them with ` +
        '`bash scripts/install-system-deps.sh` (as root, Debian packages), or start only Kafka with `wal dev up --no-targets`',
    );
  }
}

/** Starts PostgreSQL (role/database `wal`), Redis, memcached and Cassandra concurrently; if one fails the others are stopped. */
export async function startDevTargets(options: DevTargetsOptions): Promise<{ record: DevTargetsRecord; stop(): Promise<void> }> {
  const progress = options.onProgress ?? (() => undefined);
  progress('starting PostgreSQL, Redis and two memcached (Debian binaries) and Cassandra (Maven Central jars)');
  const [pg, redis, memcached, memcachedB, cassandra] = await Promise.allSettled([
    startPostgres({ dir: path.join(options.workDir, 'postgres'), detach: options.detach, app: DEV_POSTGRES_APP }),
    startRedis({ dir: path.join(options.workDir, 'redis'), detach: options.detach }),
    startMemcached({ dir: path.join(options.workDir, 'memcached'), detach: options.detach }),
    startMemcached({ dir: path.join(options.workDir, 'memcached-b'), detach: options.detach }),
    startCassandra({ dir: path.join(options.workDir, 'cassandra'), detach: options.detach, onProgress: progress }),
  ]);
  const all = [pg, redis, memcached, memcachedB, cassandra];
  if (pg.status === 'rejected' || redis.status === 'rejected' || memcached.status === 'rejected' || memcachedB.status === 'rejected' || cassandra.status === 'rejected') {
    await Promise.all(all.flatMap((s) => (s.status === 'fulfilled' ? [s.value.stop()] : [])));
    const reason = (all.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason as unknown;
    throw reason instanceof Error ? reason : new DevClusterError(String(reason));
  }
  const memcachedRecord = (server: typeof memcached.value): MemcachedRecord => ({ address: server.address, port: server.port, pid: server.pid, dir: server.dir });
  const record: DevTargetsRecord = {
    postgres: { url: pg.value.url, port: pg.value.port, pid: pg.value.pid, dir: pg.value.dir, version: pg.value.version },
    redis: { url: redis.value.url, port: redis.value.port, pid: redis.value.pid, dir: redis.value.dir },
    memcached: memcachedRecord(memcached.value),
    memcachedB: memcachedRecord(memcachedB.value),
    cassandra: {
      contactPoint: cassandra.value.contactPoint,
      localDataCenter: cassandra.value.localDataCenter,
      pid: cassandra.value.pid,
      dir: cassandra.value.dir,
      version: cassandra.value.version,
    },
  };
  progress(`PostgreSQL ${record.postgres.version} ready at ${record.postgres.url}; Redis ready at ${record.redis.url}; memcached ready at ${record.memcached!.address} (region A) and ${record.memcachedB!.address} (region B); Cassandra ${record.cassandra!.version} ready at ${record.cassandra!.contactPoint}`);
  return {
    record,
    stop: async () => {
      await Promise.all([pg.value.stop(), redis.value.stop(), memcached.value.stop(), memcachedB.value.stop(), cassandra.value.stop()]);
    },
  };
}

/** Whether every recorded server is still running (a record without either memcached or Cassandra is not). */
export function targetsAreRunning(record: DevTargetsRecord): boolean {
  return (
    isAlive(record.postgres.pid) &&
    isAlive(record.redis.pid) &&
    record.memcached !== undefined &&
    isAlive(record.memcached.pid) &&
    record.memcachedB !== undefined &&
    isAlive(record.memcachedB.pid) &&
    record.cassandra !== undefined &&
    isAlive(record.cassandra.pid)
  );
}

/** Stops recorded servers that are still ours; returns how many were stopped. */
export async function stopRecordedTargets(record: DevTargetsRecord): Promise<number> {
  let stopped = 0;
  if (isAlive(record.postgres.pid) && processRunsIn(record.postgres.pid, record.postgres.dir)) {
    await stopPostgresPid(record.postgres.pid);
    stopped += 1;
  }
  for (const server of [record.redis, record.memcached, record.memcachedB]) {
    if (server && isAlive(server.pid) && processRunsIn(server.pid, server.dir)) {
      await stopProcessGroup(server.pid, 5000);
      stopped += 1;
    }
  }
  const cassandra = record.cassandra;
  if (cassandra && isAlive(cassandra.pid) && processRunsIn(cassandra.pid, cassandra.dir)) {
    // SIGTERM runs Cassandra's shutdown hook (flushes the commit log); give it the time it takes.
    await stopProcessGroup(cassandra.pid, 20_000);
    stopped += 1;
  }
  return stopped;
}

/**
 * Guards against killing an unrelated process that reused a recorded pid: ours run in the recorded
 * dir or below it (postgres changes into its data dir, redis into its --dir, memcached stays in the
 * dir it was started in).
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
