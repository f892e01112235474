import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { Client } from 'pg';
import { cassandraAnswers } from '../../src/devcluster/cassandra';
import { memcachedAnswers } from '../../src/devcluster/memcached';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../../dist/cli/main.js');
/** The JVM path on purpose, even when the suite itself uses clusters from the environment. */
const jvmEnv = { ...process.env, WAL_DEV_MODE: 'jvm', KAFKA_BROKERS: '', WAL_LOG_LEVEL: 'warn' };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function exported(stdout: string, name: string): string {
  const value = new RegExp(`^export ${name}=(.+)$`, 'm').exec(stdout)?.[1];
  if (!value) throw new Error(`wal dev up printed no ${name}:\n${stdout}`);
  return value;
}

describe('wal dev up with delivery targets (JVM path)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-dev-targets-'));
  // PostgreSQL runs as the postgres user under root and must reach its data dir (mkdtemp makes 0700).
  fs.chmodSync(dir, 0o755);
  afterAll(async () => {
    await run('node', [CLI, 'dev', 'down', '--dir', dir], { env: jvmEnv, timeout: 60000 }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts PostgreSQL, Redis, two memcached (regions A and B), Cassandra and ElasticMQ beside Kafka, prints addresses that answer, and down stops every process', async () => {
    const up = await run('node', [CLI, 'dev', 'up', '--clusters', 'A', '--dir', dir], { env: jvmEnv, timeout: 100000 });
    const pgUrl = exported(up.stdout, 'WAL_POSTGRES_URL');
    const redisUrl = exported(up.stdout, 'WAL_REDIS_URL');
    const memcachedServers = exported(up.stdout, 'WAL_MEMCACHED_SERVERS');
    expect(memcachedServers).toMatch(/^127\.0\.0\.1:\d+$/);
    // Region B's cache (topologies/cache-replication.yaml): a server of its own.
    const memcachedServersB = exported(up.stdout, 'WAL_MEMCACHED_SERVERS_B');
    expect(memcachedServersB).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(memcachedServersB).not.toBe(memcachedServers);
    const cassandraContactPoints = exported(up.stdout, 'WAL_CASSANDRA_CONTACT_POINTS');
    expect(cassandraContactPoints).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(exported(up.stdout, 'KAFKA_BROKERS')).toMatch(/^127\.0\.0\.1:\d+$/);
    // ElasticMQ (the SQS API) comes up too, and answers a real ListQueues.
    const sqsEndpoint = exported(up.stdout, 'WAL_SQS_ENDPOINT');
    expect(sqsEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const sqs = new SQSClient({ endpoint: sqsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'wal-test', secretAccessKey: 'wal-test' } });
    try {
      expect((await sqs.send(new ListQueuesCommand({}))).$metadata.httpStatusCode).toBe(200);
    } finally {
      sqs.destroy();
    }
    // The role and database the multi-table sample topology expects by default.
    expect(pgUrl).toMatch(/^postgres:\/\/wal:wal@127\.0\.0\.1:\d+\/wal$/);

    // The CLI has exited: the servers run detached; the app role can create tables in its database.
    const pg = new Client({ connectionString: pgUrl, connectionTimeoutMillis: 5000 });
    await pg.connect();
    try {
      expect((await pg.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await pg.query('CREATE TABLE dev_probe (id text PRIMARY KEY)');
      expect((await pg.query('SELECT current_user AS u, current_database() AS d')).rows).toEqual([{ u: 'wal', d: 'wal' }]);
    } finally {
      await pg.end();
    }
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
    // A real set and get on the printed address.
    expect(await memcachedAnswers(Number(memcachedServers.split(':')[1]), 2000)).toBeNull();
    expect(await memcachedAnswers(Number(memcachedServersB.split(':')[1]), 2000)).toBeNull();
    // A real CQL query on the printed contact point.
    expect(await cassandraAnswers(cassandraContactPoints)).toBe(true);

    const state = JSON.parse(fs.readFileSync(path.join(dir, 'cluster.json'), 'utf8')) as {
      clusters: Array<{ brokerPid: number; registryPid: number }>;
      targets: { postgres: { pid: number }; redis: { pid: number }; memcached: { pid: number }; memcachedB: { pid: number }; cassandra: { pid: number } };
    };
    const { postgres, redis: redisRecord, memcached, memcachedB, cassandra } = state.targets;
    let pids = [...state.clusters.flatMap((c) => [c.brokerPid, c.registryPid]), postgres.pid, redisRecord.pid, memcached.pid, memcachedB.pid, cassandra.pid];
    expect(pids.every(alive)).toBe(true);

    // A second up reuses what runs: same URLs, nothing restarted.
    const again = await run('node', [CLI, 'dev', 'up', '--clusters', 'A', '--dir', dir], { env: jvmEnv, timeout: 30000 });
    expect(exported(again.stdout, 'WAL_POSTGRES_URL')).toBe(pgUrl);
    expect(exported(again.stdout, 'WAL_REDIS_URL')).toBe(redisUrl);
    expect(exported(again.stdout, 'WAL_MEMCACHED_SERVERS')).toBe(memcachedServers);
    expect(exported(again.stdout, 'WAL_MEMCACHED_SERVERS_B')).toBe(memcachedServersB);
    expect(exported(again.stdout, 'WAL_CASSANDRA_CONTACT_POINTS')).toBe(cassandraContactPoints);

    // A state file written before region B's memcached existed: read as "not running", so up starts the targets again, B's included.
    const stateFile = path.join(dir, 'cluster.json');
    const written = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { targets: Record<string, unknown> };
    delete written.targets.memcachedB;
    fs.writeFileSync(stateFile, JSON.stringify(written));
    process.kill(memcachedB.pid, 'SIGKILL'); // no longer recorded: down would not find it
    const upgraded = await run('node', [CLI, 'dev', 'up', '--clusters', 'A', '--dir', dir], { env: jvmEnv, timeout: 100000 });
    const restartedB = exported(upgraded.stdout, 'WAL_MEMCACHED_SERVERS_B');
    expect(await memcachedAnswers(Number(restartedB.split(':')[1]), 2000)).toBeNull();
    const after = (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as typeof state).targets;
    pids = [...state.clusters.flatMap((c) => [c.brokerPid, c.registryPid]), after.postgres.pid, after.redis.pid, after.memcached.pid, after.memcachedB.pid, after.cassandra.pid];
    expect(pids.every(alive)).toBe(true);

    const status = await run('node', [CLI, 'dev', 'status', '--dir', dir], { env: jvmEnv });
    expect(status.stdout).toMatch(/^running since/);
    expect(status.stdout).toContain(`export WAL_MEMCACHED_SERVERS_B=${restartedB}`);

    const down = await run('node', [CLI, 'dev', 'down', '--dir', dir], { env: jvmEnv, timeout: 60000 });
    // Kafka, registry, PostgreSQL, Redis, two memcached, Cassandra and ElasticMQ.
    expect(down.stdout).toContain('stopped 8 processes');
    expect(pids.filter(alive)).toEqual([]);
  });
});
